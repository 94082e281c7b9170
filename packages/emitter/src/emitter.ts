import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type KafkaCompression, newEventId, sleep, waitAtMost } from '@keytrail/core';
import {
  type AuthDecision,
  authDecisionKey,
  type BatchEncoder,
  createBatchEncoder,
  createEventCodec,
  type EventCodec,
  type KeyLifecycle,
  keyLifecycleKey,
  OUTCOME_HTTP_STATUS,
  redactEventSecrets,
  validateAuthDecision,
  validateKeyLifecycle,
  writerRegistrations,
} from '@keytrail/events';
import {
  type BatchProducer,
  createIdempotentProducer,
  createProducerThread,
  type KeyedMessage,
  sendSchemaRegistrations,
  type Topics,
  topicNames,
} from '@keytrail/kafka';
import type { Kafka } from 'kafkajs';
import { RecordRing } from './ring.ts';

/** What a gateway passes per request: required fields, the rest optional (defaults as in ingest). */
export type AuthDecisionInput = Pick<AuthDecision, 'workspace_id' | 'request_id' | 'outcome'> &
  Partial<Omit<AuthDecision, 'workspace_id' | 'request_id' | 'outcome'>>;
export type KeyLifecycleInput = Pick<KeyLifecycle, 'workspace_id' | 'lifecycle_type' | 'key_id'> &
  Partial<Omit<KeyLifecycle, 'workspace_id' | 'lifecycle_type' | 'key_id'>>;

export interface EmitterOptions {
  kafka: Kafka;
  /** KEYTRAIL_TOPIC_PREFIX of the Keytrail deployment (default "keytrail."). */
  topicPrefix?: string;
  /** Stamped on every decision that has none: which gateway decided. */
  source?: { name: string; version?: string };
  /** How long a record waits for company before its batch is sent (default 20 ms). */
  lingerMs?: number;
  /** Most events per Kafka request (default 2,000). */
  maxBatch?: number;
  /**
   * Most events held in memory (default 100,000). When full, new records are dropped (and
   * counted in `droppedBufferFull`): memory never grows past this, and the request path never waits.
   */
  maxBuffered?: number;
  /** Called with problems that are not the caller's to handle (dropped, invalid, send failures). */
  onWarning?: (message: string, detail?: unknown) => void;
  /**
   * Codec of the batches sent (default: the client's, from @keytrail/kafka's createKafka, else
   * zstd). Keytrail's consumers read every codec Kafka knows.
   */
  compression?: KafkaCompression;
  /**
   * Send from a worker thread of its own (default true), so that kafkajs' work (record
   * encoding, CRC-32C, compression, the network: about two thirds of the emitter's CPU)
   * runs beside the gateway's event loop instead of on it. Needs a client made by
   * @keytrail/kafka's createKafka, whose options the thread connects with; with any other
   * kafkajs client, or `false`, the emitter sends from the caller's thread.
   */
  producerThread?: boolean;
}

export interface EmitterStats {
  recorded: number;
  sent: number;
  buffered: number;
  droppedBufferFull: number;
  invalid: number;
  secretsRedacted: number;
  sendRetries: number;
}

/** Ring tags: which kind of input a slot holds. */
const AUTH_DECISION = 0;
const KEY_LIFECYCLE = 1;

type Pending =
  | { kind: 'auth_decision'; event: AuthDecision }
  | { kind: 'key_lifecycle'; event: KeyLifecycle };

export interface Emitter {
  /** Records one auth decision. Never throws; false when dropped (buffer full or closed). */
  recordAuthDecision(input: AuthDecisionInput): boolean;
  recordKeyLifecycle(input: KeyLifecycleInput): boolean;
  /** Resolves when everything recorded so far is acknowledged by Kafka. */
  flush(): Promise<void>;
  /** Flushes (up to `timeoutMs`), then disconnects. Records after close are dropped. */
  close(timeoutMs?: number): Promise<void>;
  stats(): EmitterStats;
  /** Connects the producer; recording before connect is fine (it is buffered). */
  connect(): Promise<void>;
}

/** The full event of a recorded input, defaults applied; `recordedAt` stands in for occurred_at. */
function authDecision(
  input: AuthDecisionInput,
  source: AuthDecision['source'],
  recordedAt: number,
): AuthDecision {
  return {
    event_id: input.event_id ?? newEventId(),
    occurred_at: input.occurred_at ?? recordedAt,
    workspace_id: input.workspace_id,
    request_id: input.request_id,
    key_id: input.key_id ?? null,
    key_prefix: input.key_prefix ?? null,
    presented_key_hash: input.presented_key_hash ?? null,
    key_env: input.key_env ?? null,
    credential: input.credential ?? null,
    key_type: input.key_type ?? 'UNKNOWN',
    session_id: input.session_id ?? null,
    end_user_id: input.end_user_id ?? null,
    resource: input.resource ?? null,
    method: input.method ?? null,
    route: input.route ?? null,
    required_scope: input.required_scope ?? null,
    granted_scopes: input.granted_scopes ?? [],
    outcome: input.outcome,
    http_status: input.http_status ?? OUTCOME_HTTP_STATUS[input.outcome] ?? 0,
    deprecated_key: input.deprecated_key ?? false,
    rate_limit: input.rate_limit ?? null,
    quota: input.quota ?? null,
    latency_ms: input.latency_ms ?? null,
    cost: input.cost ?? 0,
    client_ip: input.client_ip ?? null,
    origin: input.origin ?? null,
    user_agent: input.user_agent ?? null,
    region: input.region ?? null,
    source: input.source ?? source,
  };
}

function keyLifecycle(input: KeyLifecycleInput, recordedAt: number): KeyLifecycle {
  return {
    event_id: input.event_id ?? newEventId(),
    occurred_at: input.occurred_at ?? recordedAt,
    workspace_id: input.workspace_id,
    lifecycle_type: input.lifecycle_type,
    key_id: input.key_id,
    key_prefix: input.key_prefix ?? null,
    key_env: input.key_env ?? null,
    key_type: input.key_type ?? null,
    name: input.name ?? null,
    resource: input.resource ?? null,
    scopes: input.scopes ?? null,
    rate_limits: input.rate_limits ?? null,
    quota: input.quota ?? null,
    expires_at: input.expires_at ?? null,
    allowed_origins: input.allowed_origins ?? null,
    grace_ends_at: input.grace_ends_at ?? null,
    replaced_by: input.replaced_by ?? null,
    reason: input.reason ?? null,
    actor: input.actor ?? null,
    session_id: input.session_id ?? null,
    end_user_id: input.end_user_id ?? null,
    parent_key_id: input.parent_key_id ?? null,
    ttl_seconds: input.ttl_seconds ?? null,
  };
}

/**
 * The emitter SDK: gateways record auth decisions and lifecycle events; batches go to Kafka on
 * an idempotent producer (acks from all in-sync replicas). The caller's path only appends to a
 * bounded buffer; validation, secret redaction and Avro encoding happen in the sender.
 */
export function createEmitter(options: EmitterOptions): Emitter {
  const codec: EventCodec = createEventCodec();
  const topics: Topics = topicNames(options.topicPrefix ?? 'keytrail.');
  const lingerMs = options.lingerMs ?? 20;
  const maxBatch = options.maxBatch ?? 2_000;
  const maxBuffered = options.maxBuffered ?? 100_000;
  const warn = options.onWarning ?? (() => {});
  const source = options.source
    ? { name: options.source.name, version: options.source.version ?? null }
    : null;
  // Retries without limit: during an outage a batch waits in the producer and is re-sent with its
  // original sequence numbers, so the broker keeps one copy. Only when kafkajs gives a batch up
  // (the producer fenced or disconnected) does the sender send it again as new messages; those
  // carry the same event ids, which the projector counts once (its retry window).
  const overrides = {
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2_000 },
  };
  const producer: BatchProducer =
    (options.producerThread !== false &&
      createProducerThread(options.kafka, {
        overrides,
        ...(options.compression ? { compression: options.compression } : {}),
      })) ||
    createIdempotentProducer(options.kafka, overrides, options.compression);

  // The caller's inputs wait here as given; the sender applies defaults, checks and encodes.
  const ring = new RecordRing<AuthDecisionInput | KeyLifecycleInput>(maxBuffered);
  /** Taken from the ring, not yet acknowledged: still counts against maxBuffered. */
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> | undefined;
  let connected: Promise<void> | undefined;
  let closed = false;
  /** Set once close() gave up waiting: a batch still unsent is then dropped, not retried forever. */
  let disconnected = false;
  const stats: EmitterStats = {
    recorded: 0,
    sent: 0,
    buffered: 0,
    droppedBufferFull: 0,
    invalid: 0,
    secretsRedacted: 0,
    sendRetries: 0,
  };

  // Registered before the first send, so any reader can resolve what this emitter writes.
  const connect = () => {
    connected ??= producer
      .connect()
      .then(() => sendSchemaRegistrations(producer, topics.schemas, writerRegistrations(codec)))
      .catch((err) => {
        connected = undefined;
        throw err;
      });
    return connected;
  };

  /** One event → a Kafka message, or null (counted, warned) when it is not a valid event. */
  const toMessage = (item: Pending, bytes: BatchEncoder): KeyedMessage | null => {
    stats.secretsRedacted += redactEventSecrets(item.event);
    const errors =
      item.kind === 'auth_decision' ? validateAuthDecision(item.event) : validateKeyLifecycle(item.event);
    if (errors.length === 0) {
      // Avro encoding checks every field against the schema as it writes, and throws on what
      // TypeScript could not catch (a wrong enum symbol or type from plain JS callers).
      try {
        return item.kind === 'auth_decision'
          ? { key: authDecisionKey(item.event), value: bytes.encode('auth_decision', item.event) }
          : { key: keyLifecycleKey(item.event), value: bytes.encode('key_lifecycle', item.event) };
      } catch (err) {
        errors.push({ path: '', message: (err as Error).message });
      }
    }
    stats.invalid++;
    warn(`invalid ${item.kind} dropped`, errors);
    return null;
  };

  const toMessages = (batch: ReturnType<typeof ring.take>) => {
    const decisions: KeyedMessage[] = [];
    const lifecycle: KeyedMessage[] = [];
    const bytes = createBatchEncoder(codec, batch.length);
    for (const { item: input, tag, at } of batch) {
      let item: Pending;
      try {
        item =
          tag === AUTH_DECISION
            ? { kind: 'auth_decision', event: authDecision(input as AuthDecisionInput, source, at) }
            : { kind: 'key_lifecycle', event: keyLifecycle(input as KeyLifecycleInput, at) };
      } catch (err) {
        // Only a hostile input (a throwing getter, say) gets here.
        stats.invalid++;
        warn('recorded input unreadable; dropped', err);
        continue;
      }
      const message = toMessage(item, bytes);
      if (message) (item.kind === 'auth_decision' ? decisions : lifecycle).push(message);
    }
    return [
      ...(decisions.length ? [{ topic: topics.authDecisions, messages: decisions }] : []),
      ...(lifecycle.length ? [{ topic: topics.keyLifecycle, messages: lifecycle }] : []),
    ];
  };

  /** Takes the next batch from the ring and builds its messages (defaults, checks, encoding). */
  const takeBatch = () => {
    const batch = ring.take(maxBatch);
    inFlight += batch.length;
    return { taken: batch.length, topicMessages: toMessages(batch) };
  };

  /**
   * Sends one built batch, retrying until Kafka takes it: a batch taken is never dropped, unless
   * close() stopped waiting for it (false then).
   */
  const send = async (topicMessages: ReturnType<typeof toMessages>): Promise<boolean> => {
    for (let attempt = 1; !disconnected; attempt++) {
      try {
        await connect();
        if (topicMessages.length > 0) await producer.sendBatch({ topicMessages, acks: -1 });
        return true;
      } catch (err) {
        if (disconnected) break;
        // Not retriable inside kafkajs (e.g. the producer was fenced or disconnected): try again later.
        stats.sendRetries++;
        warn(`send failed (attempt ${attempt}); retrying`, err);
        await sleep(Math.min(5_000, 100 * 2 ** attempt));
      }
    }
    return false;
  };

  /**
   * Sends batches until the buffer is empty, one request at a time and in order. When a full
   * batch is already waiting, it is built while the previous one waits for its acknowledgement,
   * so the encoding overlaps the broker's work instead of following it. A partial batch is taken
   * only after the acknowledgement, so that it holds whatever arrived meanwhile.
   */
  const drain = async (): Promise<void> => {
    let next = ring.size > 0 ? takeBatch() : undefined;
    while (next) {
      const current = next;
      const sent = send(current.topicMessages);
      next = undefined;
      if (ring.size >= maxBatch) {
        // Let kafkajs put the request on the wire before this thread builds the next batch.
        await yieldToLoop();
        next = takeBatch();
      }
      const delivered = await sent;
      inFlight -= current.taken;
      if (delivered) stats.sent += current.topicMessages.reduce((n, t) => n + t.messages.length, 0);
      if (!next && ring.size > 0) next = takeBatch();
    }
  };

  const kick = () => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    sending ??= drain().finally(() => {
      sending = undefined;
      if (ring.size > 0) schedule();
    });
    return sending;
  };

  const schedule = () => {
    if (sending) return; // the running drain picks new records up
    if (ring.size >= maxBatch) {
      void kick();
      return;
    }
    timer ??= setTimeout(() => {
      timer = undefined;
      void kick();
    }, lingerMs);
  };

  /** The caller's whole cost: a slot in the ring (nothing allocated) and maybe a timer. */
  const record = (input: AuthDecisionInput | KeyLifecycleInput, tag: number): boolean => {
    if (closed || ring.size + inFlight >= maxBuffered || !ring.push(input, tag, Date.now())) {
      stats.droppedBufferFull++;
      return false;
    }
    stats.recorded++;
    schedule();
    return true;
  };

  return {
    recordAuthDecision: (input) => record(input, AUTH_DECISION),
    recordKeyLifecycle: (input) => record(input, KEY_LIFECYCLE),
    async flush() {
      while (ring.size > 0 || sending) await kick();
    },
    async close(timeoutMs = 10_000) {
      closed = true;
      await waitAtMost(this.flush(), timeoutMs);
      if (timer) clearTimeout(timer);
      disconnected = true;
      await producer.disconnect();
    },
    stats: () => ({ ...stats, buffered: ring.size + inFlight }),
    connect,
  };
}
