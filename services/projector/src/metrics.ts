import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ProjectorMetrics = ReturnType<typeof createProjectorMetrics>;

export function createProjectorMetrics(registry: Registry) {
  const registers = [registry];
  return {
    events: new Counter({
      name: 'keytrail_projector_events_total',
      help: 'Events written to ClickHouse',
      labelNames: ['topic'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'keytrail_projector_dlq_total',
      help: 'Messages sent to the DLQ',
      labelNames: ['reason'],
      registers,
    }),
    decodedInJs: new Counter({
      name: 'keytrail_projector_decoded_in_js_total',
      help: 'Messages decoded whole in JS (lifecycle events; decisions the gate was unsure of); the rest pass to ClickHouse as written',
      labelNames: ['topic'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'keytrail_projector_batch_size',
      help: 'Messages per flushed batch',
      buckets: [1, 10, 100, 1_000, 5_000, 10_000, 50_000],
      registers,
    }),
    insertSeconds: new Histogram({
      name: 'keytrail_projector_insert_seconds',
      help: 'ClickHouse insert latency',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    retriesDropped: new Counter({
      name: 'keytrail_projector_dedup_dropped_total',
      help: 'Events dropped because their event_id was already counted (client retries)',
      labelNames: ['topic'],
      registers,
    }),
    insertRetries: new Counter({
      name: 'keytrail_projector_insert_retries_total',
      help: 'Failed inserts retried',
      registers,
    }),
    consuming: new Gauge({
      name: 'keytrail_projector_consuming',
      help: '1 while the projector is a member of its consumer group and consuming, else 0',
      registers,
    }),
    consumerRestarts: new Counter({
      name: 'keytrail_projector_consumer_restarts_total',
      help: 'Consumers started again after a failure kafkajs does not restart by itself',
      registers,
    }),
    transientRetries: new Counter({
      name: 'keytrail_projector_transient_retries_total',
      help: 'Transient failures retried in place, by step',
      labelNames: ['step'],
      registers,
    }),
    eventsPerSecond: createRateGauge(registry),
    lag: new Gauge({
      name: 'keytrail_projector_lag',
      help: 'Messages behind the partition end',
      labelNames: ['topic', 'partition'],
      registers,
    }),
  };
}

/**
 * keytrail_projector_events_per_second: events written over the last 10 seconds. Prometheus can
 * compute rate() from the counter too; this gauge is for a glance at /metrics without one.
 */
function createRateGauge(registry: Registry) {
  const samples: { at: number; events: number }[] = [];
  const windowMs = 10_000;
  const prune = (now: number) => {
    while (samples.length > 0 && now - samples[0]!.at > windowMs) samples.shift();
  };
  new Gauge({
    name: 'keytrail_projector_events_per_second',
    help: 'Events written to ClickHouse per second, over the last 10 s',
    registers: [registry],
    collect() {
      const now = Date.now();
      prune(now);
      this.set(samples.reduce((n, s) => n + s.events, 0) / (windowMs / 1000));
    },
  });
  return {
    record(events: number, now = Date.now()) {
      samples.push({ at: now, events });
      prune(now);
    },
  };
}
