import { randomBytes } from 'node:crypto';
import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { clientOptions, createKafka } from './client.ts';
import {
  currentZstdLevel,
  registerKafkaCodecs,
  snappyDecode,
  snappyEncode,
  zstdDecode,
  zstdEncode,
} from './compression.ts';

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

  it('zstd: reads a frame that does not state its size, as the broker writes for a topic-side codec', async () => {
    // A frame built by hand: magic, a descriptor with no content size (window 1 KiB), two raw blocks.
    const blockHeader = (size: number, last: boolean) => {
      const value = (last ? 1 : 0) | (size << 3); // block type 0 = raw
      return Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff]);
    };
    const first = sample.subarray(0, 1000);
    const second = sample.subarray(1000, 1800);
    const frame = Buffer.concat([
      Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00]),
      blockHeader(first.length, false),
      first,
      blockHeader(second.length, true),
      second,
    ]);
    expect(await zstdDecode(frame)).toEqual(sample.subarray(0, 1800));
    expect(await zstdDecode(Buffer.concat([frame, await zstdEncode(sample)]))).toEqual(
      Buffer.concat([sample.subarray(0, 1800), sample]),
    );
  });
});

describe('zstd level', () => {
  it("is the process's, set by createKafka and carried in the options a producer thread connects with", () => {
    const before = currentZstdLevel();
    try {
      const kafka = createKafka({ brokers: ['localhost:1'], clientId: 'level-test', zstdLevel: 1 });
      expect(currentZstdLevel()).toBe(1);
      expect(clientOptions(kafka)?.zstdLevel).toBe(1);
      const fast = zstdEncode(sample).length;
      createKafka({ brokers: ['localhost:1'], clientId: 'level-test', zstdLevel: 19 });
      expect(zstdEncode(sample).length).toBeLessThan(fast);
      // A client that names no level leaves the process's as it is.
      createKafka({ brokers: ['localhost:1'], clientId: 'level-test' });
      expect(currentZstdLevel()).toBe(19);
      expect(() => registerKafkaCodecs({ zstdLevel: 20 })).toThrow(/1 to 19/);
      expect(() => registerKafkaCodecs({ zstdLevel: 2.5 })).toThrow(/1 to 19/);
    } finally {
      registerKafkaCodecs({ zstdLevel: before });
    }
  });
});
