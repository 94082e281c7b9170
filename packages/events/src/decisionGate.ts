import { compileBodyScanner } from './avroScan.ts';
import { isPlainAsciiIdBytes, MAX_FUTURE_MS, MIN_TIME } from './validate.ts';

/**
 * The projector's cheap gate for auth-decision bodies written with the reader schema: it reads
 * only the fields `validateAuthDecision` looks at, in place, and answers "plainly valid" or
 * "unsure". Unsure bodies (and only those) are decoded and validated whole, so the reasons a
 * dead letter carries always come from `validateAuthDecision` itself. The gate must never pass a
 * body that validation or decoding would refuse; `decisionGate.test.ts` holds it to that on
 * simulator traffic and on randomly broken bodies.
 */
export interface DecisionGate {
  /**
   * The event id (as written) when `buf[start, end)` is a well-formed body that plainly passes
   * validation at `now` (the message's Kafka time); undefined when unsure.
   */
  pass(buf: Buffer, start: number, end: number, now: number): string | undefined;
}

const WATCHED = [
  'event_id',
  'occurred_at',
  'workspace_id',
  'request_id',
  'key_id',
  'session_id',
  'end_user_id',
  'credential',
  'outcome',
  'http_status',
  'latency_ms',
  'cost',
  'rate_limit.limit',
  'rate_limit.remaining',
  'rate_limit.reset_at',
  'rate_limit.retry_after_s',
  'quota.limit',
  'quota.remaining',
  'quota.reset_at',
] as const;

type Field = (typeof WATCHED)[number];

interface EnumField {
  name: string;
  type: unknown;
}

/** The index of `symbol` in the enum that field `name` holds (directly or in a union). */
function enumIndex(schema: { fields: EnumField[] }, name: string, symbol: string): number {
  const field = schema.fields.find((f) => f.name === name);
  const branches = Array.isArray(field?.type) ? field.type : [field?.type];
  for (const branch of branches) {
    const symbols = (branch as { symbols?: string[] } | undefined)?.symbols;
    if (symbols) return symbols.indexOf(symbol);
  }
  throw new Error(`${name} is not an enum field`);
}

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

/** The bytes of a UUID in text form (either case), as UUID_RE in validate.ts accepts. */
function isUuidBytes(buf: Buffer, start: number, end: number): boolean {
  if (end - start !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = buf[start + i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (HEX[c] !== 1) return false;
  }
  return true;
}

/** A gate for bodies of `schema` (the auth-decision reader schema, as in its .avsc file). */
export function createDecisionGate(schema: { fields: EnumField[] }): DecisionGate {
  const scanner = compileBodyScanner(schema, WATCHED);
  const { present, num, start: from, end: to } = scanner.view;
  const at = (field: Field) => scanner.slot[field]!;
  const s = Object.fromEntries(WATCHED.map((f) => [f, at(f)])) as Record<Field, number>;
  const ALLOWED = enumIndex(schema, 'outcome', 'ALLOWED');
  const SESSION_TOKEN = enumIndex(schema, 'credential', 'SESSION_TOKEN');

  const id = (buf: Buffer, slot: number, required: boolean) =>
    present[slot] === 0 ? !required : isPlainAsciiIdBytes(buf, from[slot]!, to[slot]!);
  const nonNegative = (slot: number) => present[slot] === 0 || num[slot]! >= 0;
  const time = (slot: number) => present[slot] === 0 || num[slot]! >= MIN_TIME;

  return {
    pass(buf, start, end, now) {
      if (!scanner.scan(buf, start, end)) return undefined;
      const status = num[s.http_status]!;
      const ok =
        isUuidBytes(buf, from[s.event_id]!, to[s.event_id]!) &&
        num[s.occurred_at]! >= MIN_TIME &&
        num[s.occurred_at]! <= now + MAX_FUTURE_MS &&
        id(buf, s.workspace_id, true) &&
        id(buf, s.request_id, true) &&
        id(buf, s.key_id, false) &&
        id(buf, s.session_id, false) &&
        id(buf, s.end_user_id, false) &&
        status >= 100 &&
        status <= 599 &&
        (num[s.outcome] === ALLOWED || status >= 400) &&
        !(
          present[s.credential] === 1 &&
          num[s.credential] === SESSION_TOKEN &&
          present[s.session_id] === 0 &&
          num[s.outcome] === ALLOWED
        ) &&
        (present[s.latency_ms] === 0 || (num[s.latency_ms]! >= 0 && Number.isFinite(num[s.latency_ms]))) &&
        num[s.cost]! >= 0 &&
        nonNegative(s['rate_limit.limit']) &&
        nonNegative(s['rate_limit.remaining']) &&
        time(s['rate_limit.reset_at']) &&
        nonNegative(s['rate_limit.retry_after_s']) &&
        nonNegative(s['quota.limit']) &&
        nonNegative(s['quota.remaining']) &&
        time(s['quota.reset_at']);
      return ok ? buf.toString('latin1', from[s.event_id]!, to[s.event_id]!) : undefined;
    },
  };
}
