import { parseTimestamp } from './timestamps.ts';

/**
 * The JSON → Avro-value step of ingest for well-formed events, compiled once per record schema
 * into straight-line code: each field read once, checked with `typeof` (or a Set of enum
 * symbols), times parsed, defaults filled, and the record built as one object literal in schema
 * order. A value it is not sure of (an unknown field, a wrong type, a union it does not know)
 * makes it return undefined, and the caller takes the general path, which reports every problem
 * by path. So it never accepts what the general path (fromJson.ts normalize + avsc isValid) would
 * refuse; fastPath.test.ts checks that on valid and broken events alike.
 *
 * Why generated code: the general walk costs about 9 µs an event (a generic recursion over the
 * schema, an object copied and grown field by field, then avsc's own check); ingest does it for
 * every event of every request.
 */
export type FastPath = (
  input: Record<string, unknown>,
  defaults: FastDefaults,
) => Record<string, unknown> | undefined;

/** Values the general path computes for a missing field, passed in so both paths share them. */
export interface FastDefaults {
  eventId(): string;
  /** The usual HTTP status of an outcome (0 when the outcome is unknown). */
  httpStatus(outcome: unknown): number;
}

type JsonSchema = string | JsonSchema[] | { type: string | JsonSchema; [key: string]: unknown };
interface RecordSchema {
  type: 'record';
  name: string;
  fields: { name: string; type: JsonSchema; default?: unknown }[];
}

/** Compiles the fast path of a top-level event record (`type` is allowed as an extra key). */
export function compileFastPath(schema: JsonSchema, names: Map<string, JsonSchema>): FastPath {
  const closure: unknown[] = [];
  const ref = (value: unknown) => {
    closure.push(value);
    return `C[${closure.length - 1}]`;
  };
  const records = new Map<RecordSchema, string>();
  const resolve = (s: JsonSchema): JsonSchema => (typeof s === 'string' && names.has(s) ? names.get(s)! : s);

  /** Statements that check `v` (a local) against `type` and may replace it; `return;` on doubt. */
  function check(type: JsonSchema, v: string): string {
    const t = resolve(type);
    if (Array.isArray(t)) {
      // Only [null, T]: Keytrail's optional fields.
      if (t.length !== 2 || t[0] !== 'null') return 'return;';
      return `if (${v} !== null) { ${check(t[1]!, v)} }`;
    }
    if (typeof t === 'string') {
      switch (t) {
        case 'null':
          return `if (${v} !== null) return;`;
        case 'string':
          return `if (typeof ${v} !== 'string') return;`;
        case 'boolean':
          return `if (typeof ${v} !== 'boolean') return;`;
        case 'int':
          return `if (!Number.isInteger(${v}) || ${v} < -2147483648 || ${v} > 2147483647) return;`;
        case 'long':
          return `if (!Number.isSafeInteger(${v})) return;`;
        case 'double':
          return `if (typeof ${v} !== 'number') return;`;
        default:
          return 'return;';
      }
    }
    if (t.logicalType === 'timestamp-millis' && t.type === 'long')
      return `${v} = ${ref(parseTimestamp)}(${v}); if (${v} === undefined) return;`;
    if (t.type === 'enum') return `if (!${ref(new Set(t.symbols as string[]))}.has(${v})) return;`;
    if (t.type === 'array') {
      const items = resolve(t.items as JsonSchema);
      if (items !== 'string') return 'return;';
      // A copy: redaction may change the record's strings, never the caller's input.
      return `if (!Array.isArray(${v})) return; for (let i = 0; i < ${v}.length; i++) if (typeof ${v}[i] !== 'string') return; ${v} = ${v}.slice();`;
    }
    if (t.type === 'record')
      return `${v} = ${recordFn(t as unknown as RecordSchema)}(${v}, D); if (${v} === undefined) return;`;
    if (typeof t.type === 'string' && t.logicalType !== undefined) return check(t.type, v);
    return 'return;';
  }

  function body(record: RecordSchema, topLevel: boolean): string {
    const known = new Set(record.fields.map((f) => f.name));
    if (topLevel) known.add('type');
    const lines = [
      `if (typeof x !== 'object' || x === null || Array.isArray(x)) return;`,
      `for (const k in x) if (!${ref(known)}.has(k)) return;`,
    ];
    record.fields.forEach((field, i) => {
      const v = `f${i}`;
      lines.push(`let ${v} = x[${JSON.stringify(field.name)}];`);
      let missing: string;
      if (topLevel && field.name === 'event_id') missing = `${v} = D.eventId();`;
      else if (topLevel && field.name === 'http_status') missing = `${v} = D.httpStatus(x.outcome);`;
      else if ('default' in field) missing = `${v} = ${JSON.stringify(field.default)};`;
      else missing = 'return;';
      const absent =
        topLevel && field.name === 'event_id' ? `${v} === undefined || ${v} === null` : `${v} === undefined`;
      lines.push(`if (${absent}) { ${missing} } else { ${check(field.type, v)} }`);
    });
    lines.push(`return { ${record.fields.map((f, i) => `${JSON.stringify(f.name)}: f${i}`).join(', ')} };`);
    return lines.join('\n');
  }

  function recordFn(record: RecordSchema): string {
    let name = records.get(record);
    if (!name) {
      name = ref(undefined);
      records.set(record, name);
      closure[Number(name.slice(2, -1))] = new Function(
        'C',
        `return function (x, D) {\n${body(record, false)}\n};`,
      )(closure);
    }
    return name;
  }

  const top = resolve(schema) as unknown as RecordSchema;
  return new Function('C', `return function (x, D) {\n${body(top, true)}\n};`)(closure) as FastPath;
}
