import type avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  createEventCodec,
  EventDecodeError,
  fingerprintKey,
  fingerprintOf,
  writerRegistrations,
} from './codec.ts';
import { fullAuthDecision } from './fixtures.ts';
import { canonicalForm, listSchemaFiles, toAvroType } from './schemas.ts';

/**
 * Released schemas are frozen: their fingerprints are written here by hand, not computed by the
 * code under test, so editing a shipped .avsc in a way that changes its canonical form fails.
 * A new version is a new file (`*.v2.avsc`) and a new line here.
 */
const RELEASED = {
  'auth_decision v1': '469003afc022bc25',
  'key_lifecycle v1': '08b7008618ee06d3',
};

function v1(kind: 'auth_decision' | 'key_lifecycle'): avro.Schema {
  return structuredClone(listSchemaFiles().find((f) => f.kind === kind && f.version === 1)!.schema);
}

/** auth_decision v2: one added field with a default, one added KeyType and one added Outcome symbol. */
function authDecisionV2(): avro.Schema {
  const schema = v1('auth_decision') as { fields: { name: string; type: unknown }[] };
  schema.fields.push({ name: 'tls_version', type: ['null', 'string'], default: null } as never);
  const keyType = schema.fields.find((f) => f.name === 'key_type')!.type as { symbols: string[] };
  keyType.symbols = [...keyType.symbols, 'SERVICE_ACCOUNT'];
  const outcome = schema.fields.find((f) => f.name === 'outcome')!.type as { symbols: string[] };
  outcome.symbols = [...outcome.symbols, 'IP_BLOCKED'];
  return schema as avro.Schema;
}

describe('released schemas', () => {
  it('keep the fingerprints they were released with', () => {
    const shipped = Object.fromEntries(
      createEventCodec()
        .writers()
        .map((w) => [`${w.kind} v${w.version}`, w.fingerprint.toString(16).padStart(16, '0')]),
    );
    expect(shipped).toEqual(RELEASED);
  });

  it('registry keys are the fingerprint bytes as on the wire', () => {
    const codec = createEventCodec();
    const bytes = codec.encode('auth_decision', fullAuthDecision());
    expect(fingerprintKey(fingerprintOf(bytes)!)).toBe(bytes.subarray(2, 10).toString('hex'));
    expect(writerRegistrations(codec).map((r) => r.key)).toEqual(['25bc22c0af039046', 'd306ee188600b708']);
    expect(fingerprintOf(Buffer.from('{"json": true}'))).toBeUndefined();
  });
});

describe('schema evolution through the registry', () => {
  const v2Producer = createEventCodec({
    readers: { auth_decision: { version: 2, schema: authDecisionV2() } },
  });
  const v2Registration = writerRegistrations(v2Producer)[0]!;

  it('a v1 reader that learns a v2 writer from its canonical JSON resolves its records', () => {
    const v1Reader = createEventCodec();
    const bytes = v2Producer.encode('auth_decision', {
      ...fullAuthDecision(),
      key_type: 'SERVICE_ACCOUNT',
      tls_version: 'TLSv1.3',
    } as never);
    expect(() => v1Reader.decode(bytes)).toThrow(/unknown writer schema fingerprint/);
    expect(v1Reader.knows(fingerprintOf(bytes)!)).toBe(false);
    v1Reader.registerCanonical(v2Registration.canonical);
    const decoded = v1Reader.decode(bytes);
    // The added field is dropped; the unknown KeyType symbol becomes the enum's default (Avro rule).
    expect(decoded.event).toEqual({ ...fullAuthDecision(), key_type: 'UNKNOWN' });
  });

  it('an Outcome symbol the reader lacks (no enum default) fails that record only: UNRESOLVABLE', () => {
    const v1Reader = createEventCodec();
    v1Reader.registerCanonical(v2Registration.canonical);
    const bad = v2Producer.encode('auth_decision', { ...fullAuthDecision(), outcome: 'IP_BLOCKED' } as never);
    const good = v2Producer.encode('auth_decision', fullAuthDecision() as never);
    const err = (() => {
      try {
        v1Reader.decode(bad);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(EventDecodeError);
    expect((err as EventDecodeError).reason).toBe('UNRESOLVABLE');
    expect(v1Reader.decode(good).event).toEqual(fullAuthDecision());
  });

  it('a v2 reader resolves a v1 writer learnt from the registry, filling the added field with its default', () => {
    const v2Reader = createEventCodec({
      writers: [{ kind: 'auth_decision', version: 2, schema: authDecisionV2() }],
    });
    const v1Bytes = createEventCodec().encode('auth_decision', fullAuthDecision());
    const v1Canonical = canonicalForm(toAvroType(v1('auth_decision')));
    v2Reader.registerCanonical(v1Canonical);
    expect(v2Reader.decode(v1Bytes).event).toEqual({ ...fullAuthDecision(), tls_version: null });
  });

  it('refuses a registered schema that is not a Keytrail event', () => {
    expect(() =>
      createEventCodec().registerCanonical('{"type":"record","name":"Other","fields":[]}'),
    ).toThrow(/not a Keytrail event/);
  });
});
