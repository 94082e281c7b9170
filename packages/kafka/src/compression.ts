import { DEFAULT_ZSTD_LEVEL, type KafkaCompression, ZSTD_LEVELS } from '@keytrail/core';
import { Decoder as ZstdDecoder, Encoder as ZstdEncoder } from '@toondepauw/node-zstd';
import kafkajs from 'kafkajs';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';

/**
 * Record-batch compression. kafkajs has gzip built in; the other codecs Kafka knows come from
 * packages that install on Node 20 without a build step, prebuilt napi-rs binaries: `snappy`,
 * `lz4-napi` and `@toondepauw/node-zstd` (libzstd; 2.4× less CPU than the WebAssembly build
 * Keytrail used before at level 3, bench/README.md "Kafka bytes"). Every codec is registered wherever
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

// zstd level 8 by default (DEFAULT_ZSTD_LEVEL, @keytrail/core), chosen by bench/kafkaCompression.ts
// on simulated decisions: 59.1 bytes an event on disk against 63.9 at level 3, for 6.6 CPU-µs an
// event to compress (level 3: 1.6; the WebAssembly build at level 3, used before: 3.9). Level 9
// stores no fewer; past it a byte costs ten times as much.
// kafkajs keeps one codec per type for the whole process, so the level is the process's: set by
// createKafka's `zstdLevel` (loadConfig's KEYTRAIL_KAFKA_ZSTD_LEVEL), made on first compression.
let zstdLevel = DEFAULT_ZSTD_LEVEL;
let zstdEncoder: ZstdEncoder | undefined;
const zstdDecoder = new ZstdDecoder();

/**
 * On the calling thread: the binding's async form costs 70–570 µs more a call (a batch of 1 to
 * 30 KB) waiting for libuv's thread pool, and a producer waits for it before it sends.
 */
export function zstdEncode(data: Buffer): Buffer {
  zstdEncoder ??= new ZstdEncoder(zstdLevel);
  return zstdEncoder.encodeSync(data);
}

/** Reads frames with or without a content size (the broker's own zstd, for a topic-side compression.type, writes none). */
export function zstdDecode(data: Buffer): Buffer {
  return zstdDecoder.decodeSync(data);
}

/** The zstd level this process's producers compress at. */
export function currentZstdLevel(): number {
  return zstdLevel;
}

let registered = false;

/**
 * Registers snappy, LZ4 and zstd with kafkajs (once per process; gzip is built in). zstd
 * compresses at DEFAULT_ZSTD_LEVEL until a call names `zstdLevel` (ZSTD_LEVELS), which then holds
 * for every zstd producer of the process: createKafka passes its own.
 */
export function registerKafkaCodecs(options: { zstdLevel?: number | undefined } = {}): void {
  const level = options.zstdLevel;
  if (level !== undefined && level !== zstdLevel) {
    if (!Number.isInteger(level) || level < ZSTD_LEVELS.min || level > ZSTD_LEVELS.max)
      throw new RangeError(
        `zstd level must be a whole number from ${ZSTD_LEVELS.min} to ${ZSTD_LEVELS.max}, got ${level}`,
      );
    zstdLevel = level;
    zstdEncoder = undefined;
  }
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
