import { randomBytes } from 'node:crypto';

/**
 * Avro object container files built from bodies the projector already has: each record is a
 * message's body as the producer wrote it, followed by three fields the projector appends (the
 * Kafka position). Avro encodes a record as its fields one after another, so a body followed by
 * those bytes is exactly a record of the writer schema extended with three trailing fields: no
 * record is decoded or re-encoded. ClickHouse reads the file with its `Avro` input.
 *
 * Why hand-written: avsc's container encoder takes values, not encoded bodies.
 * Format: https://avro.apache.org/docs/1.11.1/specification/#object-container-files
 */

/** The fields appended to every body, in order. */
export const POSITION_FIELDS = [
  { name: 'kafka_partition', type: 'int' },
  { name: 'kafka_offset', type: 'long' },
  { name: 'kafka_timestamp', type: 'long' },
] as const;

/** One container record: a body (a view is enough) and where Kafka had it. */
export interface ContainerRecord {
  body: Uint8Array;
  at: {
    partition: number;
    /** Decimal, as kafkajs gives it. */
    offset: string;
    /** Kafka timestamp, ms. */
    timestamp: number;
  };
}

/** The schema of a container's records: `schema` (a record, as in its .avsc file) with the position fields. */
export function containerSchema(schema: { fields: readonly unknown[] }): object {
  return { ...schema, fields: [...schema.fields, ...POSITION_FIELDS] };
}

const MAGIC = Buffer.from('Obj\x01', 'latin1');
/** Records per block: ClickHouse reads a block at a time. */
const BLOCK_RECORDS = 50_000;
/** A zigzag varint of a safe integer takes at most 8 bytes; 10 keeps any long. */
const MAX_VARINT = 10;

/** Writes `value` (a safe integer) as an Avro long at `pos`; returns the next position. */
function writeLong(buf: Buffer, pos: number, value: number): number {
  // Zigzag without 32-bit operators, so values beyond 2^31 stay exact.
  let n = value >= 0 ? value * 2 : -value * 2 - 1;
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
  return pos;
}

function longBytes(value: number): Buffer {
  const buf = Buffer.allocUnsafe(MAX_VARINT);
  return buf.subarray(0, writeLong(buf, 0, value));
}

function avroString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([longBytes(bytes.length), bytes]);
}

/** A builder for containers of one schema: the header is made once. */
export interface ContainerBuilder {
  build(records: readonly ContainerRecord[]): Buffer;
}

export function createContainerBuilder(schema: { fields: readonly unknown[] }): ContainerBuilder {
  // The sync marker only has to be the same in the header and after each block.
  const sync = randomBytes(16);
  const meta: [string, string][] = [
    ['avro.schema', JSON.stringify(containerSchema(schema))],
    ['avro.codec', 'null'],
  ];
  const header = Buffer.concat([
    MAGIC,
    longBytes(meta.length),
    ...meta.flatMap(([k, v]) => [avroString(k), avroString(v)]),
    longBytes(0),
    sync,
  ]);

  return {
    build(records) {
      let size = header.length;
      for (const r of records) size += r.body.length + 5 + 2 * MAX_VARINT;
      const blocks = Math.ceil(records.length / BLOCK_RECORDS);
      size += blocks * (2 * MAX_VARINT + sync.length);
      const out = Buffer.allocUnsafe(size);
      let pos = header.copy(out, 0);
      for (let first = 0; first < records.length; first += BLOCK_RECORDS) {
        const last = Math.min(records.length, first + BLOCK_RECORDS);
        // The block's byte size precedes its records: write them after room for both varints,
        // then move them back to just after the real header.
        const countAt = pos;
        const dataAt = countAt + 2 * MAX_VARINT;
        let end = dataAt;
        for (let i = first; i < last; i++) {
          const r = records[i]!;
          out.set(r.body, end);
          end += r.body.length;
          end = writeLong(out, end, r.at.partition);
          end = writeLong(out, end, Number(r.at.offset));
          end = writeLong(out, end, r.at.timestamp);
        }
        let headAt = writeLong(out, countAt, last - first);
        headAt = writeLong(out, headAt, end - dataAt);
        if (headAt !== dataAt) out.copyWithin(headAt, dataAt, end);
        pos = headAt + (end - dataAt);
        pos += sync.copy(out, pos);
      }
      return out.subarray(0, pos);
    },
  };
}
