import { KeytrailError } from '@keytrail/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * At most `max` query requests in flight in this process; past that, 503 UNAVAILABLE with
 * Retry-After at once. The embedded engine runs one query at a time, so requests beyond a few
 * only queue: a bounded queue answers the excess quickly instead of letting every request's
 * latency grow with the crowd. (@fastify/under-pressure bounds event-loop delay and memory, not
 * requests in flight, hence these few lines.) Register it in the scope of the routes it guards.
 */
export function limitInFlight(app: FastifyInstance, max: number): void {
  let inFlight = 0;
  const counted = new WeakSet<FastifyRequest>();
  const release = async (request: FastifyRequest) => {
    if (counted.delete(request)) inFlight--;
  };
  app.addHook('onRequest', async (request) => {
    if (inFlight >= max)
      throw new KeytrailError(
        'UNAVAILABLE',
        `The query API has ${max} requests in flight (KEYTRAIL_API_MAX_INFLIGHT); retry shortly.`,
        { retriable: true },
      );
    inFlight++;
    counted.add(request);
  });
  app.addHook('onResponse', release);
  app.addHook('onRequestAbort', release);
}
