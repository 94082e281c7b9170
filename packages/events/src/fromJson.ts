import { newEventId } from '@keytrail/core';
import type { EventCodec } from './codec.ts';
import { compileFastPath, type FastDefaults, type FastPath } from './fastPath.ts';
import { redactEventSecrets } from './secrets.ts';
import { parseTimestamp } from './timestamps.ts';
import {
  type AuthDecision,
  type EventKind,
  type KeyLifecycle,
  type KeytrailEvent,
  OUTCOME_HTTP_STATUS,
  OUTCOMES,
} from './types.ts';
import { type FieldError, validateAuthDecision, validateKeyLifecycle } from './validate.ts';

export { parseTimestamp };

export type EventFromJsonResult =
  | { ok: true; value: KeytrailEvent; redactions: number }
  | { ok: false; errors: FieldError[] };

/** Fields DESIGN.md makes required in JSON ingest; everything else has a default. */
export const REQUIRED_JSON_FIELDS: Record<EventKind, readonly string[]> = {
  auth_decision: ['workspace_id', 'occurred_at', 'request_id', 'outcome'],
  key_lifecycle: ['workspace_id', 'occurred_at', 'lifecycle_type', 'key_id'],
};

type JsonSchema = string | JsonSchema[] | { type: string | JsonSchema; [key: string]: unknown };
interface RecordSchema {
  type: 'record';
  name: string;
  fields: { name: string; type: JsonSchema; default?: unknown }[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects named types (records, enums) so references like "LimitWindow" can be followed. */
function collectNames(schema: JsonSchema, names: Map<string, JsonSchema>): void {
  if (Array.isArray(schema)) {
    for (const branch of schema) collectNames(branch, names);
    return;
  }
  if (typeof schema !== 'object') return;
  if (typeof schema.name === 'string') names.set(schema.name, schema);
  if (schema.type === 'record')
    for (const f of (schema as unknown as RecordSchema).fields) collectNames(f.type, names);
  if (schema.type === 'array') collectNames(schema.items as JsonSchema, names);
  if (typeof schema.type === 'object') collectNames(schema.type, names);
}

function isTimestampSchema(schema: JsonSchema): boolean {
  return typeof schema === 'object' && !Array.isArray(schema) && schema.logicalType === 'timestamp-millis';
}

function describeType(schema: JsonSchema, names: Map<string, JsonSchema>): string {
  if (typeof schema === 'string') {
    const named = names.get(schema);
    return named ? describeType(named, names) : schema;
  }
  if (Array.isArray(schema)) return schema.map((s) => describeType(s, names)).join(' or ');
  if (schema.type === 'enum') return `one of ${(schema.symbols as string[]).join(', ')}`;
  if (isTimestampSchema(schema)) return 'an RFC 3339 time or epoch milliseconds';
  if (schema.type === 'record') return 'an object';
  if (schema.type === 'array') return 'an array';
  return describeType(schema.type as JsonSchema, names);
}

/** True when a JSON value of `schema` may differ from its Avro value (a time, or something nested). */
function needsNormalizing(schema: JsonSchema, names: Map<string, JsonSchema>): boolean {
  if (typeof schema === 'string') {
    const named = names.get(schema);
    return named !== undefined && needsNormalizing(named, names);
  }
  if (Array.isArray(schema)) return schema.some((branch) => needsNormalizing(branch, names));
  if (isTimestampSchema(schema) || schema.type === 'record') return true;
  if (schema.type === 'array') return needsNormalizing(schema.items as JsonSchema, names);
  if (typeof schema.type === 'object') return needsNormalizing(schema.type, names);
  return false;
}

/** What normalize needs of a record schema, worked out once: it runs for every ingested event. */
interface RecordPlan {
  known: Set<string>;
  /** Per field (schema order): false when its JSON value is its Avro value already. */
  normalized: boolean[];
  /**
   * Every field, in schema order, holding its default: each event's record starts as a copy of
   * this, so fields are then overwritten in place instead of added one by one (several times faster).
   */
  template: Record<string, unknown>;
}
const recordPlans = new WeakMap<RecordSchema, RecordPlan>();
function planOf(record: RecordSchema, names: Map<string, JsonSchema>): RecordPlan {
  let plan = recordPlans.get(record);
  if (!plan) {
    plan = {
      known: new Set(record.fields.map((f) => f.name)),
      normalized: record.fields.map((f) => needsNormalizing(f.type, names)),
      template: Object.fromEntries(record.fields.map((f) => [f.name, f.default])),
    };
    recordPlans.set(record, plan);
  }
  return plan;
}

/** A field's default, fresh per event (the event may be changed later); Keytrail's defaults are null, [] or scalars. */
function copyDefault(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  return Array.isArray(value) && value.length === 0 ? [] : structuredClone(value);
}

/**
 * Converts JSON to the Avro value shape: fills defaults, turns times into epoch ms, reports
 * unknown fields and type mismatches by path. Type checks themselves are avsc's (`isValid`).
 */
function normalize(
  schema: JsonSchema,
  value: unknown,
  path: string,
  names: Map<string, JsonSchema>,
  errors: FieldError[],
): unknown {
  if (typeof schema === 'string') {
    const named = names.get(schema);
    return named ? normalize(named, value, path, names, errors) : value;
  }
  if (Array.isArray(schema)) {
    if (value === null) return null;
    const branch = schema.find((s) => s !== 'null');
    return branch === undefined ? value : normalize(branch, value, path, names, errors);
  }
  if (isTimestampSchema(schema)) return parseTimestamp(value) ?? value;
  if (schema.type === 'record') {
    if (!isPlainObject(value)) return value;
    const record = schema as unknown as RecordSchema;
    const { known, normalized, template } = planOf(record, names);
    const out: Record<string, unknown> = { ...template };
    for (const key in value) {
      if (!known.has(key) && !(path === '' && key === 'type'))
        errors.push({ path: path ? `${path}.${key}` : key, message: 'is not a field of this event' });
    }
    const fields = record.fields;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const raw = value[field.name];
      if (raw === undefined) {
        if ('default' in field) out[field.name] = copyDefault(field.default);
        else errors.push({ path: path ? `${path}.${field.name}` : field.name, message: 'is required' });
      } else if (!normalized[i] || raw === null) {
        out[field.name] = raw;
      } else {
        out[field.name] = normalize(
          field.type,
          raw,
          path ? `${path}.${field.name}` : field.name,
          names,
          errors,
        );
      }
    }
    return out;
  }
  if (schema.type === 'array' && Array.isArray(value)) {
    return value.map((item, i) => normalize(schema.items as JsonSchema, item, `${path}.${i}`, names, errors));
  }
  if (typeof schema.type === 'object') return normalize(schema.type, value, path, names, errors);
  return value;
}

/**
 * Turns one JSON ingest item into a validated event (DESIGN.md, POST /v1/events). Never throws:
 * every problem comes back as a field error. Secrets are redacted in the returned event.
 */
export function eventFromJson(
  input: unknown,
  codec: EventCodec,
  now = Date.now(),
  options: { fastPath?: boolean } = {},
): EventFromJsonResult {
  if (!isPlainObject(input)) return { ok: false, errors: [{ path: '', message: 'must be a JSON object' }] };
  const kind = input.type;
  if (kind !== 'auth_decision' && kind !== 'key_lifecycle') {
    return { ok: false, errors: [{ path: 'type', message: 'must be "auth_decision" or "key_lifecycle"' }] };
  }
  const schema = schemaOf(codec, kind);
  // A well-formed event takes the compiled path; anything it is unsure of, the general one below.
  const fast = options.fastPath === false ? undefined : schema.fast(input, FAST_DEFAULTS);
  if (fast) return checked(kind, fast, now);
  const errors: FieldError[] = [];
  for (const field of REQUIRED_JSON_FIELDS[kind]) {
    if (input[field] === undefined || input[field] === null)
      errors.push({ path: field, message: 'is required' });
  }
  if (errors.length > 0) return { ok: false, errors };

  const filled: Record<string, unknown> = { ...input };
  filled.event_id ??= newEventId();
  if (kind === 'auth_decision' && filled.http_status === undefined) {
    // The usual status for the outcome; an unknown outcome is reported on `outcome` alone.
    filled.http_status = FAST_DEFAULTS.httpStatus(filled.outcome);
  }

  const { type, schemaJson, names } = schema;
  const record = normalize(schemaJson, filled, '', names, errors) as Record<string, unknown>;
  if (errors.length > 0) return { ok: false, errors };

  // Checked once without a hook (avsc's fast path); only an invalid event is walked again for paths.
  if (!type.isValid(record))
    type.isValid(record, {
      errorHook(pathParts: string[], value: unknown, fieldType: { schema(): unknown }) {
        const path = pathParts.join('.');
        errors.push({
          path,
          message: `must be ${describeType(fieldType.schema() as JsonSchema, names)}, got ${JSON.stringify(value) ?? 'undefined'}`,
        });
      },
    });
  if (errors.length > 0) return { ok: false, errors };
  return checked(kind, record, now);
}

/** The rules both paths end with: secrets redacted, then the semantic checks (ids, times, statuses). */
function checked(kind: EventKind, record: Record<string, unknown>, now: number): EventFromJsonResult {
  const redactions = redactEventSecrets(record);
  const semantic =
    kind === 'auth_decision'
      ? validateAuthDecision(record as unknown as AuthDecision, now)
      : validateKeyLifecycle(record as unknown as KeyLifecycle, now);
  if (semantic.length > 0) return { ok: false, errors: semantic };
  return { ok: true, value: { kind, event: record } as unknown as KeytrailEvent, redactions };
}

const schemaCache = new WeakMap<
  object,
  {
    type: ReturnType<EventCodec['reader']>['type'];
    schemaJson: JsonSchema;
    /** Named types of the schema, by name. */
    names: Map<string, JsonSchema>;
    fast: FastPath;
  }
>();

const FAST_DEFAULTS: FastDefaults = {
  eventId: newEventId,
  httpStatus: (outcome) =>
    OUTCOMES.includes(outcome as never)
      ? OUTCOME_HTTP_STATUS[outcome as keyof typeof OUTCOME_HTTP_STATUS]
      : 0,
};

/** The compiled fast path of `kind` for this codec's reader schema (fastPath.ts; exported for its tests). */
export function jsonFastPath(
  codec: EventCodec,
  kind: EventKind,
): (input: Record<string, unknown>) => unknown {
  const { fast } = schemaOf(codec, kind);
  return (input) => fast(input, FAST_DEFAULTS);
}

function schemaOf(codec: EventCodec, kind: EventKind) {
  const reader = codec.reader(kind);
  let cached = schemaCache.get(reader);
  if (!cached) {
    const names = new Map<string, JsonSchema>();
    collectNames(reader.schema as JsonSchema, names);
    const schemaJson = reader.schema as JsonSchema;
    cached = { type: reader.type, schemaJson, names, fast: compileFastPath(schemaJson, names) };
    schemaCache.set(reader, cached);
  }
  return cached;
}
