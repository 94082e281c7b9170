import { randomBytes } from 'node:crypto';
import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { snappyDecode, snappyEncode, zstdDecode, zstdEncode } from './compression.ts';

const sample = Buffer.concat(
  Array.from({ length: 500 }, (_, i) =>
    Buffer.from(`{"workspace_id":"ws_1","key_id":"key_${i % 7}","outcome":"ALLOWED","route":"/v1/apps/:id"}`),
  ),
);

describe('Kafka record-batch codecs', () => {
  it('snappy: xerial-framed like the Java client, and reads bare snappy too', () => {
    const framed = snappyEncode(sample);
    expect(framed.subarray(0, 8)).toEqual(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0]));
    expect(framed.length).toBeLessThan(sample.length / 4);
    expect(snappyDecode(framed)).toEqual(sample);
    expect(snappyDecode(compressSync(sample) as Buffer)).toEqual(sample);
  });

  it('zstd: round trip, incompressible data included', async () => {
    const packed = await zstdEncode(sample);
    expect(packed.length).toBeLessThan(sample.length / 10);
    expect(await zstdDecode(packed)).toEqual(sample);
    const noise = randomBytes(100_000);
    expect(await zstdDecode(await zstdEncode(noise))).toEqual(noise);
  });
});
