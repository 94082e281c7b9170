import { compress as zstdCompress, decompress as zstdDecompress, init as zstdInit } from '@bokuweb/zstd-wasm';
import type { KafkaCompression } from '@keytrail/core';
import kafkajs from 'kafkajs';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';

/**
 * Record-batch compression. kafkajs has gzip built in; the other codecs Kafka knows come from
 * packages that install on Node 20 without a build step: `snappy` and `lz4-napi` (prebuilt
 * napi-rs binaries) and `@bokuweb/zstd-wasm` (WebAssembly). Every codec is registered wherever
 * Keytrail talks to Kafka, so a consumer reads a batch whatever codec its producer, or the
 * topic's `compression.type`, chose. Which one producers use is configuration
 * (KEYTRAIL_KAFKA_COMPRESSION, @keytrail/core); the default is what bench/kafkaCompression.ts chose.
 */
// kafkajs is CommonJS, and Node's ES-module loader cannot see these two among its exports.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/** The kafkajs `compression` value of a producer `send`/`sendBatch` for `codec`. */
export function compressionType(codec: KafkaCompression): kafkajs.CompressionTypes {
  return {
    none: CompressionTypes.None,
    gzip: CompressionTypes.GZIP,
    snappy: CompressionTypes.Snappy,
    lz4: CompressionTypes.LZ4,
    zstd: CompressionTypes.ZSTD,
  }[codec];
}

// Kafka's Java client frames snappy the way xerial's SnappyOutputStream does: a 16-byte header,
// then blocks of (big-endian length, raw snappy). Readers must accept both that and bare snappy.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]);

export function snappyEncode(data: Buffer): Buffer {
  const block = snappyCompress(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(block.length);
  return Buffer.concat([XERIAL_HEADER, length, block]);
}

export function snappyDecode(data: Buffer): Buffer {
  if (data.length < 16 || !data.subarray(0, 8).equals(XERIAL_MAGIC)) return snappyUncompress(data) as Buffer;
  const blocks: Buffer[] = [];
  for (let at = 16; at < data.length; ) {
    const length = data.readUInt32BE(at);
    blocks.push(snappyUncompress(data.subarray(at + 4, at + 4 + length)) as Buffer);
    at += 4 + length;
  }
  return Buffer.concat(blocks);
}

/** zstd level 3 (zstd's own default): most of the ratio for a fraction of the CPU of higher levels. */
const ZSTD_LEVEL = 3;
let zstdReady: Promise<void> | undefined;
/** The WebAssembly module loads once, on first use. */
function zstdLoaded(): Promise<void> {
  zstdReady ??= zstdInit();
  return zstdReady;
}

export async function zstdEncode(data: Buffer): Promise<Buffer> {
  await zstdLoaded();
  const out = zstdCompress(data, ZSTD_LEVEL);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * A frame that does not say its size (the broker's own zstd, for a topic-side compression.type)
 * is decompressed into a buffer that doubles until it fits, up to 256 MiB.
 */
export async function zstdDecode(data: Buffer): Promise<Buffer> {
  await zstdLoaded();
  for (let heap = 4 * 2 ** 20; ; heap *= 2) {
    try {
      const out = zstdDecompress(data, { defaultHeapSize: heap });
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      if (heap >= 256 * 2 ** 20) throw err;
    }
  }
}

let registered = false;
/** Registers snappy, LZ4 and zstd with kafkajs (once per process; gzip is built in). */
export function registerKafkaCodecs(): void {
  if (registered) return;
  registered = true;
  const codecs = CompressionCodecs as unknown as Record<number, () => unknown>;
  const codec =
    (
      compress: (data: Buffer) => Buffer | Promise<Buffer>,
      decompress: (data: Buffer) => Buffer | Promise<Buffer>,
    ) =>
    () => ({
      compress: async (encoder: { buffer: Buffer }) => compress(encoder.buffer),
      decompress: async (buffer: Buffer) => decompress(buffer),
    });
  codecs[CompressionTypes.Snappy] = codec(snappyEncode, snappyDecode);
  codecs[CompressionTypes.LZ4] = codec(
    (data) => compressFrameSync(data),
    (data) => decompressFrameSync(data),
  );
  codecs[CompressionTypes.ZSTD] = codec(zstdEncode, zstdDecode);
}
