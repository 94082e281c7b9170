import type { ClickHouseDriver } from '@keytrail/clickhouse';
import type { Logger } from '@keytrail/core';
import { createAlertEventCodec, type EventCodec } from '@keytrail/events';
import type { SchemaRegistry, Topics } from '@keytrail/kafka';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { alerterGroupId, createAlerter } from './alerter.ts';
import { alertSinkGroupId, createAlertSink } from './alertSink.ts';
import { createDeliveryWorker } from './deliveries.ts';
import { createAlerterMetrics } from './metrics.ts';
import { createRuleStore } from './rules.ts';

export interface AlerterServiceOptions {
  kafka: Kafka;
  ch: ClickHouseDriver;
  codec: EventCodec;
  topics: Topics;
  topicPrefix: string;
  logger: Logger;
  metrics: Registry;
  registry?: SchemaRegistry;
  sealingKey: Buffer;
  allowPrivate: boolean;
  retryScale?: number;
  lookbackMs?: number;
  latenessMs?: number;
  sessionTimeoutMs?: number;
}

/**
 * `keytrail alerter`: detection (decisions and lifecycle → keytrail.alerts), the alert sink
 * (keytrail.alerts → ClickHouse and webhook messages) and webhook delivery, in one process.
 */
export function createAlerterService(options: AlerterServiceOptions) {
  const { logger } = options;
  const metrics = createAlerterMetrics(options.metrics);
  const alertCodec = createAlertEventCodec();
  const rules = createRuleStore({ ch: options.ch, logger });
  const alerter = createAlerter({
    kafka: options.kafka,
    codec: options.codec,
    alertCodec,
    topics: options.topics,
    logger,
    metrics,
    groupId: alerterGroupId(options.topicPrefix),
    rulesFor: rules.rulesFor,
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.lookbackMs ? { lookbackMs: options.lookbackMs } : {}),
    ...(options.latenessMs ? { latenessMs: options.latenessMs } : {}),
    ...(options.sessionTimeoutMs ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
  });
  // Webhooks go out from the active alerter only, so two alerters never send one message twice.
  const deliveries = createDeliveryWorker({
    isActive: () => alerter.isActive(),
    ch: options.ch,
    logger,
    metrics,
    sealingKey: options.sealingKey,
    allowPrivate: options.allowPrivate,
    ...(options.retryScale ? { retryScale: options.retryScale } : {}),
  });
  const sink = createAlertSink({
    kafka: options.kafka,
    ch: options.ch,
    alertCodec,
    topic: options.topics.alerts,
    groupId: alertSinkGroupId(options.topicPrefix),
    ...(options.sessionTimeoutMs ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
    logger,
    onMessages: () => deliveries.notify(),
  });
  return {
    async start() {
      await rules.start();
      deliveries.start();
      await sink.start();
      await alerter.start();
    },
    async stop() {
      await alerter.stop();
      await sink.stop();
      await deliveries.stop();
      rules.stop();
    },
    isReady: () => alerter.isReady(),
    stats: () => alerter.stats(),
  };
}
