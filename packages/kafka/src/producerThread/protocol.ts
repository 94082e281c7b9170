/** The messages between a producer thread and the thread that made it. */
import type { KafkaCompression } from '@keytrail/core';
import type { CreateKafkaOptions, IdempotentProducerOverrides } from '../client.ts';
import type { PackedTopic, ThreadError } from './wire.ts';

/** What the thread is started with (`workerData`): plain data only. */
export interface ProducerThreadData {
  client: Omit<CreateKafkaOptions, 'logger'>;
  overrides: IdempotentProducerOverrides;
  compression: KafkaCompression;
  /** Whether the parent has a logger to forward kafkajs' lines to. */
  logs: boolean;
}

export type ToThread =
  | { type: 'connect'; id: number }
  | { type: 'disconnect'; id: number }
  | { type: 'send'; id: number; topics: PackedTopic[]; acks?: number; timeout?: number };

export type ToParent =
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; error: ThreadError }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; fields: unknown; line: string };
