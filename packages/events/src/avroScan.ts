import { isUtf8 } from 'node:buffer';

/**
 * A scanner for Avro binary bodies that checks their framing and reads chosen fields in place,
 * without building the record: what the projector needs to pass a body on to ClickHouse as it is
 * (dedup reads `event_id`, the gate reads the fields validation looks at).
 *
 * Why hand-written: avsc decodes whole records (objects, strings, arrays) and its skip methods are
 * private; nothing on npm checks a body's framing without decoding it.
 *
 * "Well-formed" is strict on purpose, so that ClickHouse's Avro reader takes every body the scanner
 * passes: exact length (no trailing bytes), varints within 64 bits, ints within 32, every long a
 * safe integer (avsc refuses others), union and enum indexes in range, booleans 0 or 1, strings
 * valid UTF-8. A body that fails any of these is not necessarily bad; it goes to the general path
 * (avsc), whose answer is the one that counts.
 */

type Schema = string | Schema[] | { type: unknown; [key: string]: unknown };

/** What one scan found for the watched fields (reused between scans: read it before the next). */
export interface ScanView {
  /** Per slot: 1 when the field holds a value, 0 when it is null or inside a null union branch. */
  readonly present: Uint8Array;
  /** Per slot: the number (long, int, double, enum index, boolean as 0/1). */
  readonly num: Float64Array;
  /** Per slot: a string's bytes, [start, end) in the scanned buffer. */
  readonly start: Int32Array;
  readonly end: Int32Array;
}

export interface BodyScanner {
  /** Slot index of each watched dotted path, e.g. `rate_limit.limit`. */
  readonly slot: Readonly<Record<string, number>>;
  readonly view: ScanView;
  /** True when `buf[start, end)` is one well-formed body; the view then holds the watched fields. */
  scan(buf: Buffer, start: number, end: number): boolean;
}

interface State {
  buf: Buffer;
  pos: number;
  end: number;
}

type Step = (s: State, view: ScanView) => boolean;

const TWO_53 = 2 ** 53;

/** Reads a zigzag varint; NaN when malformed, past the end or beyond a safe integer. */
function readLong(s: State, maxBytes: number): number {
  const { buf, end } = s;
  let pos = s.pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (pos >= end) return Number.NaN;
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      s.pos = pos;
      if (value >= TWO_53) return Number.NaN;
      return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    }
    scale *= 128;
  }
  return Number.NaN;
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

function number(slot: number, read: (s: State) => number): Step {
  return (s, view) => {
    const value = read(s);
    if (Number.isNaN(value)) return false;
    if (slot >= 0) {
      view.present[slot] = 1;
      view.num[slot] = value;
    }
    return true;
  };
}

const readInt = (s: State) => {
  const value = readLong(s, 5);
  return value < INT_MIN || value > INT_MAX ? Number.NaN : value;
};

/** Bytes or string: a length, then that many bytes (valid UTF-8 for a string). */
function bytes(slot: number, utf8: boolean): Step {
  return (s, view) => {
    const length = readLong(s, 10);
    if (!(length >= 0) || s.pos + length > s.end) return false;
    const start = s.pos;
    const stop = start + length;
    if (utf8) {
      const buf = s.buf;
      let high = 0;
      for (let i = start; i < stop; i++) high |= buf[i]!;
      if (high & 0x80 && !isUtf8(buf.subarray(start, stop))) return false;
    }
    s.pos = stop;
    if (slot >= 0) {
      view.present[slot] = 1;
      view.start[slot] = start;
      view.end[slot] = stop;
    }
    return true;
  };
}

function fixed(size: number): Step {
  return (s) => {
    if (s.pos + size > s.end) return false;
    s.pos += size;
    return true;
  };
}

/** Array or map blocks: a count (negative: followed by the block's byte size), then the items. */
function blocks(item: Step, withKeys: boolean): Step {
  const key = bytes(-1, true);
  return (s, view) => {
    for (;;) {
      let count = readLong(s, 10);
      if (Number.isNaN(count)) return false;
      if (count === 0) return true;
      if (count < 0) {
        count = -count;
        if (!(readLong(s, 10) >= 0)) return false;
      }
      for (let i = 0; i < count; i++) if ((withKeys && !key(s, view)) || !item(s, view)) return false;
    }
  };
}

/**
 * Compiles a scanner for `schema` (a schema as in an .avsc file; named types may be referenced by
 * short or full name). `watch` lists the dotted paths of the fields to read: strings, numbers,
 * enums (their index) and booleans, through records and unions.
 */
export function compileBodyScanner(schema: unknown, watch: readonly string[]): BodyScanner {
  const slot: Record<string, number> = Object.fromEntries(watch.map((path, i) => [path, i]));
  const named = new Map<string, Step>();
  const view: ScanView = {
    present: new Uint8Array(watch.length),
    num: new Float64Array(watch.length),
    start: new Int32Array(watch.length),
    end: new Int32Array(watch.length),
  };

  const compile = (node: Schema, path: string, namespace: string): Step => {
    const at = slot[path] ?? -1;
    if (Array.isArray(node)) {
      const branches = node.map((branch) => compile(branch, path, namespace));
      return (s, v) => {
        const index = readLong(s, 10);
        const branch = branches[index];
        return branch !== undefined && branch(s, v);
      };
    }
    if (typeof node === 'string') {
      switch (node) {
        case 'null':
          return () => true;
        case 'boolean':
          return number(at, (s) => {
            const byte = s.pos < s.end ? s.buf[s.pos++]! : 2;
            return byte <= 1 ? byte : Number.NaN;
          });
        case 'int':
          return number(at, readInt);
        case 'long':
          return number(at, (s) => readLong(s, 10));
        case 'float':
        case 'double': {
          const size = node === 'float' ? 4 : 8;
          return number(at, (s) => {
            if (s.pos + size > s.end) return Number.NaN;
            const value = size === 4 ? s.buf.readFloatLE(s.pos) : s.buf.readDoubleLE(s.pos);
            s.pos += size;
            // NaN is a value here, but the marker of failure above: report it as not a number.
            return Number.isNaN(value) ? Number.POSITIVE_INFINITY : value;
          });
        }
        case 'string':
          return bytes(at, true);
        case 'bytes':
          return bytes(at, false);
        default: {
          // A reference to a named type, compiled before it (Avro's rule).
          const step = named.get(node) ?? named.get(`${namespace}.${node}`);
          if (!step) throw new Error(`unknown Avro type ${node}`);
          return step;
        }
      }
    }
    const type = node.type;
    const ns = typeof node.namespace === 'string' ? node.namespace : namespace;
    const fullName = (name: unknown) =>
      typeof name === 'string' && name.includes('.') ? name : `${ns}.${String(name)}`;
    switch (type) {
      case 'record': {
        const fields = (node.fields as { name: string; type: Schema }[]) ?? [];
        let steps: Step[] = [];
        const record: Step = (s, v) => {
          for (const step of steps) if (!step(s, v)) return false;
          return true;
        };
        named.set(fullName(node.name), record);
        named.set(String(node.name), record);
        steps = fields.map((f) => compile(f.type, path ? `${path}.${f.name}` : f.name, ns));
        return record;
      }
      case 'enum': {
        const symbols = (node.symbols as string[]).length;
        const step = number(at, (s) => {
          const index = readLong(s, 10);
          return index >= 0 && index < symbols ? index : Number.NaN;
        });
        named.set(fullName(node.name), step);
        named.set(String(node.name), step);
        return step;
      }
      case 'fixed': {
        const step = fixed(node.size as number);
        named.set(fullName(node.name), step);
        named.set(String(node.name), step);
        return step;
      }
      case 'array':
        return blocks(compile(node.items as Schema, `${path}[]`, ns), false);
      case 'map':
        return blocks(compile(node.values as Schema, `${path}{}`, ns), true);
      default:
        // { "type": "long", "logicalType": ... } and the like: the underlying type.
        return compile(type as Schema, path, ns);
    }
  };

  const root = compile(schema as Schema, '', '');
  const state: State = { buf: Buffer.alloc(0), pos: 0, end: 0 };
  return {
    slot,
    view,
    scan(buf, start, end) {
      view.present.fill(0);
      state.buf = buf;
      state.pos = start;
      state.end = end;
      return root(state, view) && state.pos === end;
    },
  };
}
