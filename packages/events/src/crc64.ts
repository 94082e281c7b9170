/**
 * CRC-64-AVRO, the 64-bit Rabin fingerprint the Avro specification defines for single-object
 * encoding. Written here because avsc only offers crypto hashes (md5/sha256) as fingerprints.
 * BigInt is slow, but a fingerprint is computed once per schema, never per message.
 */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE: bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK);
    table.push(fp);
  }
  return table;
})();

/** Unsigned 64-bit fingerprint of `data` (the schema's Parsing Canonical Form as UTF-8). */
export function crc64Avro(data: Uint8Array | string): bigint {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let fp = EMPTY;
  for (const byte of bytes) fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(byte)) & 0xffn)]!;
  return fp;
}

/** The same value as Java's signed `long`, as the Avro test vectors print it. */
export function toSignedInt64(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}
