import { type EventCodec, writerRegistrations } from '@keytrail/events';
import {
  type BatchProducer,
  createIdempotentProducer,
  createProducerThread,
  type SchemaRegistry,
  type Topics,
} from '@keytrail/kafka';
import type { FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
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
  /**
   * Send from a worker thread of its own (default true): kafkajs' share of the work (record
   * encoding, CRC-32C, compression) then runs beside HTTP and JSON instead of on the same thread.
   * Needs a client made by @keytrail/kafka's createKafka; otherwise ingest sends from its own thread.
   */
  producerThread?: boolean;
}

export interface IngestService {
  publisher: EventPublisher;
  producer: BatchProducer;
  /** Registers POST /v1/events on an app built by @keytrail/http. */
  register(app: FastifyInstance): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The ingest service: an idempotent producer (on a thread of its own) plus the HTTP route that feeds it. */
export function createIngestService(options: IngestServiceOptions): IngestService {
  const producer =
    (options.producerThread !== false && createProducerThread(options.kafka)) ||
    createIdempotentProducer(options.kafka);
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
