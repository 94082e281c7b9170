/**
 * RowBinary: ClickHouse's native row format, written straight from JS values.
 *
 * Why hand-written: the projector's inserts are its bottleneck, and JSON costs twice there —
 * about 5 µs per 40-column row to stringify in JS and as much again for ClickHouse to parse
 * (bench/projector). RowBinary is a few typed writes per column into one growing buffer, and
 * ClickHouse reads it without parsing. No npm package writes RowBinary from plain objects
 * (@clickhouse/client sends JSON and text formats only).
 *
 * Only the types Keytrail's raw tables use are supported; each column's type must be the
 * table's own (a test compares them with system.columns).
 */

/** The column types a RowBinary column may have. LowCardinality(String) is written as String. */
export type RowBinaryType =
  | 'String'
  | 'LowCardinality(String)'
  | 'UUID'
  | 'Bool'
  | 'UInt16'
  | 'UInt32'
  | 'UInt64'
  | 'Int64'
  | "DateTime64(3, 'UTC')"
  | 'Nullable(Int32)'
  | 'Nullable(Int64)'
  | 'Nullable(Float64)'
  | "Nullable(DateTime64(3, 'UTC'))"
  | 'Array(String)'
  | 'Array(LowCardinality(String))';

export interface RowBinaryColumn<Row> {
  name: string;
  type: RowBinaryType;
  /** The column's value in `row`: strings, numbers (DateTime64 as epoch ms, UInt64 as a decimal string or number), booleans, arrays, null. */
  value: (row: Row) => unknown;
}

/** A table's columns in insert order, with the structure string `file()` and the HTTP insert need. */
export interface RowBinaryLayout<Row> {
  columns: readonly RowBinaryColumn<Row>[];
  names: readonly string[];
  /** "name Type, name Type, …" */
  structure: string;
}

export function rowBinaryLayout<Row>(columns: readonly RowBinaryColumn<Row>[]): RowBinaryLayout<Row> {
  return {
    columns,
    names: columns.map((c) => c.name),
    structure: columns.map((c) => `${c.name} ${c.type}`).join(', '),
  };
}

/** One encoded batch, ready for ClickHouseDriver.insertRowBinary. */
export interface RowBinaryBatch {
  names: readonly string[];
  structure: string;
  rows: number;
  data: Buffer;
}

const TWO_32 = 4_294_967_296;
/** Char code → its hex digit's value, or -1. */
const HEX_VALUE = Array.from({ length: 128 }, (_, code) => {
  const digit = Number.parseInt(String.fromCharCode(code), 16);
  return Number.isNaN(digit) ? -1 : digit;
});

/** A growing buffer with the little-endian writes RowBinary needs. */
export class RowBinaryWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  uint8(value: number): void {
    this.reserve(1);
    this.buf[this.pos++] = value;
  }

  varUInt(value: number): void {
    this.reserve(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  uint16(value: number): void {
    this.reserve(2);
    this.pos = this.buf.writeUInt16LE(value, this.pos);
  }

  uint32(value: number): void {
    this.reserve(4);
    this.pos = this.buf.writeUInt32LE(value, this.pos);
  }

  int32(value: number): void {
    this.reserve(4);
    this.pos = this.buf.writeInt32LE(value, this.pos);
  }

  /** A safe integer as 64 bits, two's complement (Int64 and UInt64 alike). */
  int64(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer`);
    const high = Math.floor(value / TWO_32);
    this.reserve(8);
    this.buf.writeUInt32LE(value - high * TWO_32, this.pos);
    this.buf.writeInt32LE(high, this.pos + 4);
    this.pos += 8;
  }

  float64(value: number): void {
    this.reserve(8);
    this.pos = this.buf.writeDoubleLE(value, this.pos);
  }

  string(value: string): void {
    const length = value.length;
    // Most values are short ASCII: copied char by char, which beats Buffer#write's per-call cost.
    if (length < 128) {
      this.reserve(1 + length);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        buf[start + i] = code;
      }
      if (i === length) {
        buf[this.pos] = length;
        this.pos = start + length;
        return;
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varUInt(bytes);
    this.reserve(bytes);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  /**
   * ClickHouse keeps a UUID as two UInt64 halves, each little-endian: the 16 bytes of the text,
   * each half reversed.
   */
  uuid(value: string): void {
    if (value.length !== 36) throw new RangeError(`"${value}" is not a UUID`);
    this.reserve(16);
    const buf = this.buf;
    let char = 0;
    for (let i = 0; i < 16; i++) {
      if (char === 8 || char === 13 || char === 18 || char === 23) {
        if (value.charCodeAt(char) !== 45) throw new RangeError(`"${value}" is not a UUID`);
        char++;
      }
      const high = HEX_VALUE[value.charCodeAt(char)] ?? -1;
      const low = HEX_VALUE[value.charCodeAt(char + 1)] ?? -1;
      if (high < 0 || low < 0) throw new RangeError(`"${value}" is not a UUID`);
      char += 2;
      // Byte i of the text goes to position 7 - i of its half.
      buf[this.pos + (i < 8 ? 7 - i : 23 - i)] = high * 16 + low;
    }
    this.pos += 16;
  }

  /** The bytes written so far (a view: write nothing more once taken). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

type Write = (w: RowBinaryWriter, value: unknown) => void;

const writeDateTime64: Write = (w, v) => w.int64(v as number);
const writeString: Write = (w, v) => w.string(v as string);
const nullable =
  (inner: Write): Write =>
  (w, v) => {
    if (v === null || v === undefined) return w.uint8(1);
    w.uint8(0);
    inner(w, v);
  };
const array =
  (inner: Write): Write =>
  (w, v) => {
    const items = v as readonly unknown[];
    w.varUInt(items.length);
    for (const item of items) inner(w, item);
  };

const WRITERS: Record<RowBinaryType, Write> = {
  String: writeString,
  'LowCardinality(String)': writeString,
  UUID: (w, v) => w.uuid(v as string),
  Bool: (w, v) => w.uint8(v ? 1 : 0),
  UInt16: (w, v) => w.uint16(v as number),
  UInt32: (w, v) => w.uint32(v as number),
  UInt64: (w, v) => w.int64(Number(v)),
  Int64: (w, v) => w.int64(v as number),
  "DateTime64(3, 'UTC')": writeDateTime64,
  'Nullable(Int32)': nullable((w, v) => w.int32(v as number)),
  'Nullable(Int64)': nullable((w, v) => w.int64(v as number)),
  'Nullable(Float64)': nullable((w, v) => w.float64(v as number)),
  "Nullable(DateTime64(3, 'UTC'))": nullable(writeDateTime64),
  'Array(String)': array(writeString),
  'Array(LowCardinality(String))': array(writeString),
};

/** Encodes `rows` in the layout's column order. Throws RangeError on a value its type cannot hold. */
export function encodeRowBinary<Row>(layout: RowBinaryLayout<Row>, rows: readonly Row[]): RowBinaryBatch {
  const writer = new RowBinaryWriter(Math.max(1 << 16, rows.length * 256));
  const columns = layout.columns.map((c) => ({ value: c.value, write: WRITERS[c.type] }));
  for (const row of rows) for (const column of columns) column.write(writer, column.value(row));
  return { names: layout.names, structure: layout.structure, rows: rows.length, data: writer.bytes() };
}
