import type avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { createEventCodec, EventDecodeError, HEADER_LENGTH } from './codec.ts';
import { crc64Avro } from './crc64.ts';
import { fullAuthDecision, fullKeyLifecycle } from './fixtures.ts';
import { canonicalForm, listSchemaFiles, toAvroType } from './schemas.ts';

const codec = createEventCodec();

function schemaOf(kind: 'auth_decision' | 'key_lifecycle', version = 1): avro.Schema {
  const file = listSchemaFiles().find((f) => f.kind === kind && f.version === version);
  if (!file) throw new Error(`no ${kind} v${version}`);
  return structuredClone(file.schema);
}

/** v2 = v1 plus one field with a default (the evolution DESIGN.md allows). */
function withAddedField(schema: avro.Schema): avro.Schema {
  const copy = structuredClone(schema) as { fields: unknown[] };
  copy.fields.push({ name: 'tls_version', type: ['null', 'string'], default: null });
  return copy as avro.Schema;
}

describe('single-object encoding', () => {
  it('frames the body with C3 01 and the little-endian CRC-64-AVRO of the canonical schema', () => {
    const bytes = codec.encode('auth_decision', fullAuthDecision());
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    const expected = crc64Avro(canonicalForm(toAvroType(schemaOf('auth_decision'))));
    expect(bytes.readBigUInt64LE(2)).toBe(expected);
    expect(bytes.subarray(HEADER_LENGTH)).toEqual(
      toAvroType(schemaOf('auth_decision')).toBuffer(fullAuthDecision()),
    );
  });

  it('round-trips both event kinds unchanged', () => {
    const decision = fullAuthDecision();
    const lifecycle = fullKeyLifecycle();
    expect(codec.decode(codec.encode('auth_decision', decision))).toEqual({
      kind: 'auth_decision',
      version: 1,
      event: decision,
    });
    expect(codec.decode(codec.encode('key_lifecycle', lifecycle))).toEqual({
      kind: 'key_lifecycle',
      version: 1,
      event: lifecycle,
    });
  });

  it('keeps every encoded event intact across many in a row, very large ones too', () => {
    const codec = createEventCodec();
    const events = Array.from({ length: 3_000 }, (_, i) =>
      fullAuthDecision({
        request_id: `req_${i}`,
        user_agent: i % 1_000 === 7 ? 'u'.repeat(100_000) : `ua/${i}`,
      }),
    );
    const encoded = events.map((e) => codec.encode('auth_decision', e));
    // Encoding more must not change what was returned before.
    codec.encode('key_lifecycle', fullKeyLifecycle());
    encoded.forEach((bytes, i) => {
      expect(codec.decode(bytes).event).toEqual(events[i]);
    });
  });

  it('refuses bytes without the marker as BAD_MAGIC', () => {
    const err = captureDecodeError(Buffer.from('{"json":"not avro"}'));
    expect(err.reason).toBe('BAD_MAGIC');
  });

  it('refuses an unknown fingerprint with a typed error naming it', () => {
    const bytes = codec.encode('auth_decision', fullAuthDecision());
    bytes.writeBigUInt64LE(0x0123456789abcdefn, 2);
    const err = captureDecodeError(bytes);
    expect(err.reason).toBe('UNKNOWN_FINGERPRINT');
    expect(err.fingerprint).toBe(0x0123456789abcdefn);
    expect(err.message).toContain('0123456789abcdef');
  });

  it('refuses a truncated body as BAD_BODY', () => {
    const bytes = codec.encode('auth_decision', fullAuthDecision());
    expect(captureDecodeError(bytes.subarray(0, bytes.length - 5)).reason).toBe('BAD_BODY');
  });
});

describe('schema resolution', () => {
  it('a v2 reader with an added defaulted field reads v1 data (the default fills in)', () => {
    const v1 = createEventCodec();
    const v2 = createEventCodec({
      readers: { auth_decision: { version: 2, schema: withAddedField(schemaOf('auth_decision')) } },
    });
    const decoded = v2.decode(v1.encode('auth_decision', fullAuthDecision()));
    expect(decoded.version).toBe(1);
    expect(decoded.event).toEqual({ ...fullAuthDecision(), tls_version: null });
  });

  it('a v1 reader reads v2 data (the added field is dropped)', () => {
    const v2Schema = withAddedField(schemaOf('auth_decision'));
    const v2 = createEventCodec({ readers: { auth_decision: { version: 2, schema: v2Schema } } });
    const bytes = v2.encode('auth_decision', { ...fullAuthDecision(), tls_version: 'TLSv1.3' } as never);
    const v1 = createEventCodec();
    expect(() => v1.decode(bytes)).toThrow(EventDecodeError); // v1 does not know the v2 fingerprint yet…
    v1.registerWriter('auth_decision', 2, v2Schema); // …until the writer schema is made known.
    const decoded = v1.decode(bytes);
    expect(decoded.version).toBe(2);
    expect(decoded.event).toEqual(fullAuthDecision());
  });

  it('an enum symbol the reader does not know fails that record alone, as UNRESOLVABLE', () => {
    const schema = schemaOf('auth_decision') as { fields: { name: string; type: { symbols?: string[] } }[] };
    schema.fields.find((f) => f.name === 'outcome')!.type.symbols!.push('BANNED_IP');
    const writer = createEventCodec({
      readers: { auth_decision: { version: 9, schema: schema as avro.Schema } },
    });
    const reader = createEventCodec();
    reader.registerWriter('auth_decision', 9, schema as avro.Schema);
    const bytes = writer.encode(
      'auth_decision',
      fullAuthDecision({ outcome: 'BANNED_IP' as never, http_status: 403 }),
    );
    expect(captureDecodeError(bytes, reader).reason).toBe('UNRESOLVABLE');
    // A known symbol from the same writer still resolves.
    expect(reader.decode(writer.encode('auth_decision', fullAuthDecision())).event).toEqual(
      fullAuthDecision(),
    );
  });
});

function captureDecodeError(bytes: Buffer, using = codec): EventDecodeError {
  try {
    using.decode(bytes);
  } catch (err) {
    if (err instanceof EventDecodeError) return err;
    throw err;
  }
  throw new Error('decode did not fail');
}
