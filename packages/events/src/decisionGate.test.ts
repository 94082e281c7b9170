import { generateTraffic } from '@keytrail/simulator';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { createEventCodec, HEADER_LENGTH } from './codec.ts';
import { createContainerBuilder } from './container.ts';
import { createDecisionGate } from './decisionGate.ts';
import { fullAuthDecision } from './fixtures.ts';
import { eventFromJson } from './fromJson.ts';
import type { AuthDecision } from './types.ts';
import { validateAuthDecision } from './validate.ts';

const codec = createEventCodec();
const reader = codec.reader('auth_decision');
const gate = createDecisionGate(reader.schema as never);
const NOW = Date.UTC(2026, 10, 22, 12);

const decisions: AuthDecision[] = [];
for (const json of generateTraffic({
  seed: 11,
  startMs: NOW - 3_600_000,
  decisions: 3_000,
  probeAttack: true,
  ratePerSecond: 5,
})) {
  if (json.type !== 'auth_decision') continue;
  const parsed = eventFromJson(json, codec, NOW);
  if (parsed.ok) decisions.push(parsed.value.event as AuthDecision);
}

function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const body = (event: AuthDecision) => codec.encode('auth_decision', event).subarray(HEADER_LENGTH);

/** What the general path says of a body: decoded and valid, or not. */
function generalPath(bytes: Buffer, now: number): { ok: true; event: AuthDecision } | { ok: false } {
  try {
    const decoded = codec.decode(Buffer.concat([reader.header, bytes]));
    const event = decoded.event as AuthDecision;
    return validateAuthDecision(event, now).length === 0 ? { ok: true, event } : { ok: false };
  } catch {
    return { ok: false };
  }
}

const ODD_VALUES: Partial<Record<keyof AuthDecision, unknown[]>> = {
  event_id: ['not-a-uuid', '01936B2E-1F00-7000-8000-00000000000A', '01936b2e1f0070008000000000000001'],
  occurred_at: [0, 946_684_799_999, NOW + 86_400_001, NOW + 86_400_000, 2 ** 52],
  workspace_id: ['', ' ws', 'ws ', 'w\u0000s', 'wé', 'x'.repeat(256), 'x'.repeat(257), '\u00a0ws'],
  request_id: ['', 'r\tq', 'req\u2028', 'r'.repeat(300)],
  key_id: [null, '', ' k', 'k\u0007'],
  session_id: [null, '', 'sess_1'],
  end_user_id: [null, ' ', 'user\u0000'],
  credential: [null, 'API_KEY', 'SESSION_TOKEN'],
  outcome: ['ALLOWED', 'INVALID_KEY', 'RATE_LIMITED'],
  http_status: [0, 99, 100, 200, 399, 400, 599, 600, -1, 2 ** 31 - 1],
  latency_ms: [null, -0.5, 0, Number.NaN, Number.POSITIVE_INFINITY, 1e300],
  cost: [0, -1, 2 ** 53 - 1],
  user_agent: [null, 'é', '\u{1f600}'],
};

describe('the decision gate', () => {
  it('passes every well-formed simulator decision, with its event id', () => {
    for (const event of decisions) {
      const bytes = body(event);
      expect(gate.pass(bytes, 0, bytes.length, NOW), JSON.stringify(event)).toBe(event.event_id);
    }
  });

  it('never passes what decoding or validation refuses: odd values', () => {
    const next = random(42);
    let passed = 0;
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const event: AuthDecision = structuredClone(decisions[Math.floor(next() * decisions.length)]!);
      const fields = Object.keys(ODD_VALUES) as (keyof AuthDecision)[];
      for (let changes = 1 + Math.floor(next() * 3); changes > 0; changes--) {
        const field = fields[Math.floor(next() * fields.length)]!;
        const values = ODD_VALUES[field]!;
        (event as unknown as Record<string, unknown>)[field] = values[Math.floor(next() * values.length)];
      }
      if (next() < 0.2 && event.rate_limit)
        event.rate_limit = { ...event.rate_limit, remaining: -1, reset_at: next() < 0.5 ? 5 : null };
      let bytes: Buffer;
      try {
        bytes = body(event);
      } catch {
        continue; // the schema cannot hold it (NaN is fine, a fraction in a long is not)
      }
      const id = gate.pass(bytes, 0, bytes.length, NOW);
      const general = generalPath(bytes, NOW);
      if (id === undefined) {
        refused++;
        continue;
      }
      passed++;
      expect(general.ok, JSON.stringify(event)).toBe(true);
      if (general.ok) expect(id).toBe(general.event.event_id);
    }
    expect(passed).toBeGreaterThan(1_000);
    expect(refused).toBeGreaterThan(1_000);
  });

  it('never passes a body that is not exactly one record: flipped, cut and extended bytes', () => {
    const next = random(7);
    let passed = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = Buffer.from(body(decisions[Math.floor(next() * decisions.length)]!));
      let broken = bytes;
      const what = next();
      if (what < 0.5) broken[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      else if (what < 0.75) broken = bytes.subarray(0, Math.floor(next() * bytes.length));
      else broken = Buffer.concat([bytes, Buffer.from([Math.floor(next() * 256)])]);
      if (gate.pass(broken, 0, broken.length, NOW) === undefined) continue;
      passed++;
      expect(generalPath(broken, NOW).ok, broken.toString('hex')).toBe(true);
    }
    expect(passed).toBeGreaterThan(100); // flips inside strings still make valid decisions
  });

  it('reads a body in place inside a larger buffer', () => {
    const bytes = body(fullAuthDecision());
    const around = Buffer.concat([Buffer.from([1, 2, 3]), bytes, Buffer.from([9])]);
    expect(gate.pass(around, 3, 3 + bytes.length, NOW)).toBe(fullAuthDecision().event_id);
    expect(gate.pass(around, 3, 4 + bytes.length, NOW)).toBeUndefined();
  });
});

describe('the container builder', () => {
  it('writes records avsc reads back: each body with its Kafka position, in blocks', async () => {
    const builder = createContainerBuilder(reader.schema as never);
    const records = decisions.slice(0, 120).map((event, i) => ({
      body: body(event),
      at: { partition: i % 3, offset: String(2 ** 40 + i), timestamp: NOW + i },
    }));
    const container = builder.build(records);
    const decoded: Record<string, unknown>[] = [];
    await new Promise<void>((resolve, reject) => {
      const decoder = new avro.streams.BlockDecoder({
        parseHook: (s) => avro.Type.forSchema(s, { wrapUnions: 'auto' }),
      });
      decoder.on('data', (record: Record<string, unknown>) => decoded.push(record));
      decoder.on('end', resolve);
      decoder.on('error', reject);
      decoder.end(container);
    });
    expect(decoded).toHaveLength(records.length);
    decoded.forEach((record, i) => {
      const { kafka_partition, kafka_offset, kafka_timestamp, ...event } = record;
      expect(event).toEqual({ ...decisions[i] });
      expect([kafka_partition, kafka_offset, kafka_timestamp]).toEqual([i % 3, 2 ** 40 + i, NOW + i]);
    });
    expect(builder.build([]).length).toBeGreaterThan(0);
  });
});
