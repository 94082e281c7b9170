import type avro from 'avsc';
import { crc64Avro } from './crc64.ts';
import { canonicalForm, listSchemaFiles, toAvroType } from './schemas.ts';
import type { EventKind, EventOf, KeytrailEvent } from './types.ts';

/** Avro single-object encoding marker (spec: "Single object encoding"). */
export const SINGLE_OBJECT_MAGIC = Buffer.from([0xc3, 0x01]);
export const HEADER_LENGTH = 10;

/** BAD_MAGIC: not single-object encoded. UNKNOWN_FINGERPRINT: writer schema unknown. BAD_BODY: bytes do
 * not decode. UNRESOLVABLE: decodes, but holds a value the reader schema cannot take (an unknown enum symbol). */
export type DecodeFailure = 'BAD_MAGIC' | 'UNKNOWN_FINGERPRINT' | 'BAD_BODY' | 'UNRESOLVABLE';

/** Bytes that cannot be turned into an event. `reason` is what goes into the DLQ header. */
export class EventDecodeError extends Error {
  readonly reason: DecodeFailure;
  readonly fingerprint: bigint | undefined;
  constructor(
    reason: DecodeFailure,
    message: string,
    options: { cause?: unknown; fingerprint?: bigint } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'EventDecodeError';
    this.reason = reason;
    this.fingerprint = options.fingerprint;
  }
}

export interface WriterSchema {
  kind: EventKind;
  version: number;
  type: avro.Type;
  /** The schema as written in its .avsc file (keeps logicalType and docs). */
  schema: avro.Schema;
  /** CRC-64-AVRO of the canonical form, unsigned. */
  fingerprint: bigint;
  /** The 10-byte single-object header for this schema. */
  header: Buffer;
}

export type DecodedEvent = KeytrailEvent & { version: number };

export interface EventCodec {
  /** Encodes with the current (reader) schema of `kind`. */
  encode<K extends EventKind>(kind: K, event: EventOf<K>): Buffer;
  /**
   * Encodes as `encode` does, into `target` from `at` (a batch's buffer, instead of two new
   * buffers per event): the end position, or -1 when the bytes do not fit (what was written past
   * `at` is then garbage). Throws as `encode` does on a value the schema does not take.
   */
  encodeInto<K extends EventKind>(kind: K, event: EventOf<K>, target: Buffer, at: number): number;
  /** Decodes any known writer version into the current reader schema. Throws EventDecodeError. */
  decode(bytes: Uint8Array): DecodedEvent;
  /** Makes another writer schema known (a producer's newer or older version). */
  registerWriter(kind: EventKind, version: number, schema: avro.Schema): WriterSchema;
  /**
   * Makes a writer schema known from its canonical JSON, as the registry topic holds it. The kind
   * comes from the record's name; the version is unknown (0). Throws when it is no Keytrail event.
   */
  registerCanonical(canonicalJson: string): WriterSchema;
  /** True when bytes with this fingerprint can be decoded. */
  knows(fingerprint: bigint): boolean;
  /** The current schema per kind (the newest shipped version unless overridden). */
  reader(kind: EventKind): WriterSchema;
  writers(): WriterSchema[];
}

export interface CodecOptions {
  /** Use these reader schemas instead of the newest shipped ones (tests of schema evolution). */
  readers?: Partial<Record<EventKind, { version: number; schema: avro.Schema }>>;
  /** Load only these writer schemas instead of every shipped file. */
  writers?: { kind: EventKind; version: number; schema: avro.Schema }[];
}

interface Resolution {
  /** The type that decodes: the reader, or the reader widened with the writer's extra enum symbols. */
  type: avro.Type;
  resolver: avro.Resolver;
  /** Decoded values must be checked against the real reader (an unknown symbol fails that record only). */
  widened: boolean;
}

type SchemaNode =
  | {
      type?: unknown;
      name?: string;
      symbols?: string[];
      fields?: { type: unknown }[];
      items?: unknown;
      values?: unknown;
    }
  | unknown[];

function shortName(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

/** Collects enum symbols by (short) name. */
function enumSymbols(node: unknown, out: Map<string, string[]>): void {
  if (Array.isArray(node)) {
    for (const child of node) enumSymbols(child, out);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const n = node as Exclude<SchemaNode, unknown[]>;
  if (n.type === 'enum' && n.name && n.symbols) out.set(shortName(n.name), n.symbols);
  for (const field of n.fields ?? []) enumSymbols(field.type, out);
  for (const child of [n.items, n.values, typeof n.type === 'object' ? n.type : undefined])
    enumSymbols(child, out);
}

/** A copy of `schema` whose enums also hold the symbols `extra` has for the same enum name. */
function widenEnums(schema: unknown, extra: Map<string, string[]>): unknown {
  if (Array.isArray(schema)) return schema.map((s) => widenEnums(s, extra));
  if (!schema || typeof schema !== 'object') return schema;
  const node = { ...(schema as Record<string, unknown>) };
  // An enum with a default takes unknown symbols as that default (Avro's rule): left as it is.
  if (node.type === 'enum' && typeof node.name === 'string') {
    if (node.default !== undefined) return node;
    const symbols = node.symbols as string[];
    node.symbols = [
      ...symbols,
      ...(extra.get(shortName(node.name)) ?? []).filter((s) => !symbols.includes(s)),
    ];
    return node;
  }
  if (Array.isArray(node.fields))
    node.fields = node.fields.map((f: Record<string, unknown>) => ({
      ...f,
      type: widenEnums(f.type, extra),
    }));
  for (const key of ['items', 'values', 'type'] as const)
    if (node[key] && typeof node[key] === 'object') node[key] = widenEnums(node[key], extra);
  return node;
}

/**
 * avsc refuses a writer whose enums have symbols the reader lacks, for every record. The Avro
 * specification fails only the records that carry such a symbol; widening the reader's enums
 * and checking each decoded value against the real reader gives exactly that.
 */
function createResolution(writer: WriterSchema, target: WriterSchema): Resolution {
  try {
    return { type: target.type, resolver: target.type.createResolver(writer.type), widened: false };
  } catch (err) {
    const writerEnums = new Map<string, string[]>();
    enumSymbols(writer.schema, writerEnums);
    const widened = toAvroType(widenEnums(target.schema, writerEnums) as avro.Schema);
    try {
      return { type: widened, resolver: widened.createResolver(writer.type), widened: true };
    } catch {
      throw err; // not an enum difference: the schemas are incompatible
    }
  }
}

/** The writer fingerprint in single-object bytes, or undefined when they are not single-object encoded. */
export function fingerprintOf(bytes: Uint8Array): bigint | undefined {
  if (bytes.length < HEADER_LENGTH || bytes[0] !== 0xc3 || bytes[1] !== 0x01) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset + 2, 8).readBigUInt64LE(0);
}

/**
 * The registry topic's key for a fingerprint: its 8 bytes as on the wire (little-endian), lowercase
 * hex, so a reader can take the key straight from a message's header bytes.
 */
export function fingerprintKey(fingerprint: bigint): string {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(fingerprint);
  return bytes.toString('hex');
}

/**
 * What a producer using `codec` registers before its first send: each schema it encodes with,
 * keyed as the registry topic keys it, as canonical JSON.
 */
export function writerRegistrations(codec: EventCodec): { key: string; canonical: string }[] {
  return (['auth_decision', 'key_lifecycle'] as const).map((kind) => {
    const writer = codec.reader(kind);
    return { key: fingerprintKey(writer.fingerprint), canonical: canonicalForm(writer.type) };
  });
}

/** Record names (full, as in the .avsc files) → event kind. */
const RECORD_KIND: Record<string, EventKind> = {
  'dev.keytrail.events.AuthDecision': 'auth_decision',
  'dev.keytrail.events.KeyLifecycle': 'key_lifecycle',
};

function describe(kind: EventKind, version: number, schema: avro.Schema): WriterSchema {
  const type = toAvroType(schema);
  const fingerprint = crc64Avro(canonicalForm(type));
  const header = Buffer.alloc(HEADER_LENGTH);
  SINGLE_OBJECT_MAGIC.copy(header, 0);
  header.writeBigUInt64LE(fingerprint, 2);
  return { kind, version, type, schema, fingerprint, header };
}

/** A codec for Keytrail events in Avro single-object encoding, resolving writer → reader schemas. */
export function createEventCodec(options: CodecOptions = {}): EventCodec {
  const byFingerprint = new Map<bigint, WriterSchema>();
  const readers = new Map<EventKind, WriterSchema>();
  const resolvers = new Map<bigint, Resolution | null>();

  const registerWriter = (kind: EventKind, version: number, schema: avro.Schema): WriterSchema => {
    const writer = describe(kind, version, schema);
    const existing = byFingerprint.get(writer.fingerprint);
    if (existing) return existing;
    byFingerprint.set(writer.fingerprint, writer);
    return writer;
  };

  const shipped = options.writers ?? listSchemaFiles();
  for (const file of shipped) {
    const writer = registerWriter(file.kind, file.version, file.schema);
    const current = readers.get(file.kind);
    if (!current || current.version < file.version) readers.set(file.kind, writer);
  }
  for (const [kind, override] of Object.entries(options.readers ?? {})) {
    if (override)
      readers.set(kind as EventKind, registerWriter(kind as EventKind, override.version, override.schema));
  }

  const reader = (kind: EventKind): WriterSchema => {
    const found = readers.get(kind);
    if (!found) throw new Error(`no schema for event kind ${kind}`);
    return found;
  };

  // null = writer and reader are the same schema; no resolution needed.
  const resolutionFor = (writer: WriterSchema, target: WriterSchema): Resolution | null => {
    let resolution = resolvers.get(writer.fingerprint);
    if (resolution === undefined) {
      resolution = writer === target ? null : createResolution(writer, target);
      resolvers.set(writer.fingerprint, resolution);
    }
    return resolution;
  };

  return {
    encode(kind, event) {
      const { type, header } = reader(kind);
      const body = type.toBuffer(event);
      const out = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
      header.copy(out, 0);
      body.copy(out, HEADER_LENGTH);
      return out;
    },
    encodeInto(kind, event, target, at) {
      const { type, header } = reader(kind);
      if (target.length - at < HEADER_LENGTH) return -1;
      header.copy(target, at);
      const end = type.encode(event, target, at + HEADER_LENGTH);
      return end < 0 ? -1 : end;
    },
    decode(bytes) {
      const buf = Buffer.isBuffer(bytes)
        ? bytes
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (buf.length < HEADER_LENGTH || buf[0] !== 0xc3 || buf[1] !== 0x01) {
        throw new EventDecodeError('BAD_MAGIC', 'not Avro single-object encoding (missing C3 01 marker)');
      }
      const fingerprint = buf.readBigUInt64LE(2);
      const writer = byFingerprint.get(fingerprint);
      if (!writer) {
        throw new EventDecodeError(
          'UNKNOWN_FINGERPRINT',
          `unknown writer schema fingerprint ${fingerprint.toString(16).padStart(16, '0')}`,
          { fingerprint },
        );
      }
      const target = reader(writer.kind);
      try {
        const body = buf.subarray(HEADER_LENGTH);
        const resolution = resolutionFor(writer, target);
        const event = resolution
          ? resolution.type.fromBuffer(body, resolution.resolver)
          : target.type.fromBuffer(body);
        if (resolution?.widened) {
          const problems: string[] = [];
          target.type.isValid(event, {
            errorHook: (path: string[], value: unknown) =>
              problems.push(`${path.join('.')}=${JSON.stringify(value)}`),
          });
          if (problems.length > 0) {
            throw new EventDecodeError(
              'UNRESOLVABLE',
              `not representable in the reader schema: ${problems.join(', ')}`,
              {
                fingerprint,
              },
            );
          }
        }
        return { kind: writer.kind, event, version: writer.version } as DecodedEvent;
      } catch (cause) {
        if (cause instanceof EventDecodeError) throw cause;
        throw new EventDecodeError(
          'BAD_BODY',
          `cannot decode ${writer.kind} v${writer.version}: ${String(cause)}`,
          {
            cause,
            fingerprint,
          },
        );
      }
    },
    registerWriter,
    registerCanonical(canonicalJson) {
      const schema = JSON.parse(canonicalJson) as { name?: string };
      const kind = RECORD_KIND[schema.name ?? ''];
      if (!kind) throw new Error(`registry schema "${schema.name}" is not a Keytrail event`);
      return registerWriter(kind, 0, schema as avro.Schema);
    },
    knows: (fingerprint) => byFingerprint.has(fingerprint),
    reader,
    writers: () => [...byFingerprint.values()],
  };
}
