import { type AuthDecision, createEventCodec } from '@keytrail/events';
import { bareKeyLifecycle } from '@keytrail/events/fixtures';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { decodeBatch } from './decode.ts';

const codec = createEventCodec();
const now = Date.UTC(2026, 10, 22, 4);
let offset = 0;
function message(value: Buffer | null): KafkaMessage {
  return {
    key: Buffer.from('k'),
    value,
    offset: String(offset++),
    timestamp: String(now),
    attributes: 0,
    headers: {},
  } as KafkaMessage;
}
const decision: AuthDecision = {
  event_id: '01936b2e-1f00-7000-8000-000000000001',
  occurred_at: now,
  workspace_id: 'ws_1',
  request_id: 'r1',
  key_id: 'k1',
  key_prefix: null,
  presented_key_hash: null,
  key_env: 'LIVE',
  credential: 'API_KEY',
  key_type: 'SECRET',
  session_id: null,
  end_user_id: null,
  resource: null,
  method: null,
  route: null,
  required_scope: null,
  granted_scopes: [],
  outcome: 'ALLOWED',
  http_status: 200,
  deprecated_key: false,
  rate_limit: null,
  quota: null,
  latency_ms: 3,
  cost: 0,
  client_ip: null,
  origin: null,
  user_agent: null,
  region: null,
  source: null,
};

describe('decodeBatch', () => {
  it('splits a batch into rows and dead letters with reasons, keeping order', () => {
    const good = codec.encode('auth_decision', { ...decision });
    const unknownFingerprint = Buffer.from(good);
    unknownFingerprint.writeBigUInt64LE(42n, 2);
    const invalid = codec.encode('auth_decision', { ...decision, workspace_id: '', latency_ms: -1 });
    const lifecycleOnDecisionTopic = codec.encode(
      'key_lifecycle',
      bareKeyLifecycle({
        event_id: decision.event_id,
        occurred_at: now,
        workspace_id: 'ws_1',
        lifecycle_type: 'REVOKED',
        key_id: 'k1',
      }),
    );
    const messages = [
      good,
      Buffer.from('garbage'),
      unknownFingerprint,
      invalid,
      lifecycleOnDecisionTopic,
      null,
      good.subarray(0, 20),
    ].map(message);
    const { rows, deadLetters } = decodeBatch(codec, 'auth_decision', 0, messages);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      event: { workspace_id: 'ws_1' },
      at: { partition: 0, offset: messages[0]!.offset },
    });
    expect(deadLetters.map((d) => d.reason)).toEqual([
      'BAD_MAGIC',
      'UNKNOWN_FINGERPRINT',
      'INVALID_EVENT',
      'WRONG_TOPIC',
      'EMPTY',
      'BAD_BODY',
    ]);
    expect(deadLetters[2]!.detail).toContain('workspace_id');
    expect(deadLetters[2]!.detail).toContain('latency_ms');
  });

  it('dead-letters a record whose enum symbol the reader cannot resolve, and only that record', () => {
    const schema = structuredClone(codec.reader('auth_decision').schema) as {
      fields: { name: string; type: { symbols?: string[] } }[];
    };
    schema.fields.find((f) => f.name === 'outcome')!.type.symbols!.push('IP_BLOCKED');
    const newer = createEventCodec({ readers: { auth_decision: { version: 2, schema: schema as never } } });
    const projectorCodec = createEventCodec();
    projectorCodec.registerWriter('auth_decision', 2, schema as never);
    const messages = [
      newer.encode('auth_decision', { ...decision, outcome: 'IP_BLOCKED' as never, http_status: 403 }),
      newer.encode('auth_decision', { ...decision }),
    ].map(message);
    const { rows, deadLetters } = decodeBatch(projectorCodec, 'auth_decision', 0, messages);
    expect(rows).toHaveLength(1);
    expect(deadLetters.map((d) => [d.reason, d.detail.includes('IP_BLOCKED')])).toEqual([
      ['UNRESOLVABLE', true],
    ]);
  });
});
