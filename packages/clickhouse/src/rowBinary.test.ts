import { describe, expect, it } from 'vitest';
import { encodeRowBinary, RowBinaryWriter, rowBinaryLayout } from './rowBinary.ts';

const bytes = (write: (w: RowBinaryWriter) => void) => {
  const w = new RowBinaryWriter(4);
  write(w);
  return [...w.bytes()];
};

describe('RowBinaryWriter', () => {
  it('writes LEB128 lengths', () => {
    expect(bytes((w) => w.varUInt(0))).toEqual([0]);
    expect(bytes((w) => w.varUInt(127))).toEqual([127]);
    expect(bytes((w) => w.varUInt(128))).toEqual([0x80, 1]);
    expect(bytes((w) => w.varUInt(300))).toEqual([0xac, 0x02]);
  });

  it('writes 64-bit integers as two’s complement, little-endian', () => {
    expect(bytes((w) => w.int64(1))).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(bytes((w) => w.int64(-1))).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
    expect(bytes((w) => w.int64(2 ** 40 + 5))).toEqual([5, 0, 0, 0, 0, 1, 0, 0]);
    expect(Buffer.from(bytes((w) => w.int64(-(2 ** 50) - 3))).readBigInt64LE()).toBe(-(2n ** 50n) - 3n);
    expect(() => bytes((w) => w.int64(2 ** 60))).toThrow(RangeError);
  });

  it('writes strings as UTF-8 with their byte length, short or long, ASCII or not', () => {
    for (const text of [
      '',
      'abc',
      'ünïcødé ✓',
      'x'.repeat(127),
      'y'.repeat(128),
      'é'.repeat(100),
      '😀'.repeat(50),
    ]) {
      const out = Buffer.from(bytes((w) => w.string(text)));
      const utf8 = Buffer.from(text, 'utf8');
      const lengthBytes = out.length - utf8.length;
      expect(out.subarray(lengthBytes)).toEqual(utf8);
      expect(lengthBytes).toBe(utf8.length < 128 ? 1 : 2);
    }
  });

  it('writes a UUID as ClickHouse keeps it: two little-endian halves', () => {
    expect(bytes((w) => w.uuid('00112233-4455-6677-8899-aabbccddeeff'))).toEqual([
      0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
    ]);
    expect(bytes((w) => w.uuid('00112233-4455-6677-8899-AABBCCDDEEFF')).slice(8, 10)).toEqual([0xff, 0xee]);
    for (const bad of [
      '',
      'not-a-uuid',
      '00112233-4455-6677-8899-aabbccddeefg',
      '0011223344556677-8899-aabbccddeeff',
    ])
      expect(() => bytes((w) => w.uuid(bad))).toThrow(RangeError);
  });
});

describe('encodeRowBinary', () => {
  it('writes each row’s columns in layout order: nulls flagged, arrays counted', () => {
    const layout = rowBinaryLayout<{ n: number | null; tags: string[]; ok: boolean }>([
      { name: 'n', type: 'Nullable(Int32)', value: (r) => r.n },
      { name: 'tags', type: 'Array(String)', value: (r) => r.tags },
      { name: 'ok', type: 'Bool', value: (r) => r.ok },
    ]);
    const batch = encodeRowBinary(layout, [
      { n: 7, tags: ['a', 'bc'], ok: true },
      { n: null, tags: [], ok: false },
    ]);
    expect(batch.structure).toBe('n Nullable(Int32), tags Array(String), ok Bool');
    expect(batch.names).toEqual(['n', 'tags', 'ok']);
    expect(batch.rows).toBe(2);
    expect([...batch.data]).toEqual([0, 7, 0, 0, 0, 2, 1, 97, 2, 98, 99, 1, 1, 0, 0]);
  });
});
