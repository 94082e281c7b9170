import {
  type ClickHouseDriver,
  insertAlertEvents,
  listWebhookEndpoints,
  newWebhookMessage,
  type WebhookMessage,
  writeWebhookMessages,
} from '@keytrail/clickhouse';
import { errorMessage, type Logger } from '@keytrail/core';
import { alertOf, alertView } from '@keytrail/detection';
import type { AlertEvent, AlertEventCodec } from '@keytrail/events';
import { groupLiveness } from '@keytrail/kafka';
import { webhookBody, webhookEventType, webhookMessageId } from '@keytrail/webhooks';
import type { Consumer, Kafka } from 'kafkajs';

export interface AlertSinkOptions {
  kafka: Kafka;
  ch: ClickHouseDriver;
  alertCodec: AlertEventCodec;
  topic: string;
  groupId: string;
  /** How long a member that died keeps the topic (default 30,000 ms): a restart's join waits it out. */
  sessionTimeoutMs?: number;
  logger: Logger;
  /** Called after new webhook messages were written (the delivery worker sends them at once). */
  onMessages?: () => void;
}

/** The alert sink's consumer group (namespaced like the topics). */
export function alertSinkGroupId(topicPrefix: string): string {
  return `${topicPrefix}alert-sink`;
}

/**
 * keytrail.alerts → ClickHouse: every alert change into the `alerts` table (served by
 * `GET /alerts`), and one webhook message per subscribed endpoint. Both writes are idempotent
 * (the alert row is the alert as it stands; the message id is derived from the change and the
 * endpoint, and a re-made message never overrides its progress), and offsets are committed after
 * them: a crash anywhere re-reads the batch and writes nothing twice.
 */
export function createAlertSink(options: AlertSinkOptions) {
  const { kafka, ch, alertCodec, logger } = options;
  let consumer: Consumer | undefined;

  const messagesFor = async (events: readonly AlertEvent[]): Promise<WebhookMessage[]> => {
    const endpoints = await listWebhookEndpoints(ch);
    const now = Date.now();
    const messages: WebhookMessage[] = [];
    for (const event of events) {
      const type = webhookEventType(event.change);
      for (const endpoint of endpoints) {
        if (endpoint.workspace_id !== event.workspace_id || endpoint.disabled_at !== null) continue;
        if (!endpoint.events.includes(type)) continue;
        messages.push(
          newWebhookMessage(
            {
              workspace_id: event.workspace_id,
              endpoint_id: endpoint.endpoint_id,
              message_id: webhookMessageId(endpoint.endpoint_id, event.event_id),
              event_type: type,
              alert_id: event.alert_id,
              body: webhookBody(type, event.occurred_at, alertView(alertOf(event))),
            },
            now,
          ),
        );
      }
    }
    return messages;
  };

  return {
    async start() {
      consumer = kafka.consumer({
        groupId: options.groupId,
        ...groupLiveness(options.sessionTimeoutMs),
        maxWaitTimeInMs: 100,
      });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      const owner = consumer;
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat }) => {
          const events: AlertEvent[] = [];
          for (const message of batch.messages) {
            if (!message.value) continue;
            try {
              events.push(alertCodec.decode(message.value));
            } catch (err) {
              logger.warn(
                `${options.topic} ${batch.partition}/${message.offset}: ${errorMessage(err)}; skipped`,
              );
            }
          }
          await insertAlertEvents(ch, events);
          const messages = await messagesFor(events);
          await writeWebhookMessages(ch, messages);
          const last = batch.messages.at(-1);
          if (last)
            await owner.commitOffsets([
              {
                topic: batch.topic,
                partition: batch.partition,
                offset: (BigInt(last.offset) + 1n).toString(),
              },
            ]);
          await heartbeat();
          if (messages.length > 0) options.onMessages?.();
        },
      });
    },
    async stop() {
      await consumer?.disconnect().catch(() => {});
    },
  };
}
