import type { Logger } from '@keytrail/core';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';

/** Routes kafkajs' own logging into the process logger (warn and above). */
function kafkaLogCreator(logger: Logger | undefined) {
  return () =>
    ({ level, log }: { level: number; log: { message: string; [k: string]: unknown } }) => {
      if (!logger) return;
      const { message, ...extra } = log;
      // Producers here are idempotent with bounded retries on purpose: a request that cannot be
      // acknowledged in time fails (503) and is retried by the client; event ids dedupe it.
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      if (level === logLevel.ERROR) logger.error(extra, `kafka: ${message}`);
      else if (level === logLevel.WARN) logger.warn(extra, `kafka: ${message}`);
    };
}

export interface CreateKafkaOptions {
  brokers: string[];
  clientId: string;
  logger?: Logger;
  /** Overrides for kafkajs' retry policy. */
  retry?: KafkaConfig['retry'];
}

export function createKafka(options: CreateKafkaOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: options.retry ?? { initialRetryTime: 200, retries: 8, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(options.logger),
  });
}
