import { type EventCodec, writerRegistrations } from '@keytrail/events';
import { createIdempotentProducer, type SchemaRegistry, type Topics } from '@keytrail/kafka';
import type { FastifyInstance } from 'fastify';
import type { Kafka, Producer } from 'kafkajs';
import { createEventPublisher, type EventPublisher } from './publisher.ts';
import { eventsRoute } from './routes/events.ts';

export * from './publisher.ts';
export * from './routes/events.ts';

export interface IngestServiceOptions {
  kafka: Kafka;
  codec: EventCodec;
  topics: Topics;
  maxEvents?: number;
  maxBytes?: number;
  requestsPerSecond?: number;
  /** Where the schemas ingest writes with are registered before its first send. */
  registry?: SchemaRegistry;
}

export interface IngestService {
  publisher: EventPublisher;
  producer: Producer;
  /** Registers POST /v1/events on an app built by @keytrail/http. */
  register(app: FastifyInstance): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The ingest service: an idempotent producer plus the HTTP route that feeds it. */
export function createIngestService(options: IngestServiceOptions): IngestService {
  const producer = createIdempotentProducer(options.kafka);
  const publisher = createEventPublisher({ producer, codec: options.codec, topics: options.topics });
  return {
    publisher,
    producer,
    async register(app) {
      await app.register(eventsRoute, {
        publisher,
        codec: options.codec,
        ...(options.maxEvents ? { maxEvents: options.maxEvents } : {}),
        ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
        ...(options.requestsPerSecond ? { requestsPerSecond: options.requestsPerSecond } : {}),
      });
    },
    async start() {
      await producer.connect();
      await options.registry?.register(writerRegistrations(options.codec));
    },
    stop: () => producer.disconnect(),
  };
}
