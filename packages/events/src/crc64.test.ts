import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { crc64Avro, toSignedInt64 } from './crc64.ts';
import { canonicalForm } from './schemas.ts';

// The CRC-64-AVRO vectors of the Avro specification's own test data
// (apache/avro share/test/data/schema-tests.txt): canonical form → signed 64-bit fingerprint.
const SPEC_VECTORS: [string, bigint][] = [
  ['"null"', 7195948357588979594n],
  ['"boolean"', -6970731678124411036n],
  ['"int"', 8247732601305521295n],
  ['"long"', -3434872931120570953n],
  ['"float"', 5583340709985441680n],
  ['"double"', -8181574048448539266n],
  ['"bytes"', 5746618253357095269n],
  ['"string"', -8142146995180207161n],
  ['[]', -1241056759729112623n],
  ['["int"]', -5232228896498058493n],
  ['["int","boolean"]', 5392556393470105090n],
  ['{"name":"foo","type":"record","fields":[]}', -4824392279771201922n],
  ['{"name":"x.y.foo","type":"record","fields":[]}', 5916914534497305771n],
  ['{"name":"a.b.foo","type":"record","fields":[]}', -4616218487480524110n],
  ['{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}', 7843277075252814651n],
  [
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    -4860222112080293046n,
  ],
  ['{"name":"foo","type":"enum","symbols":["A1"]}', -6342190197741309591n],
  ['{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}', -4448647247586288245n],
  ['{"name":"foo","type":"fixed","size":15}', 1756455273707447556n],
  ['{"name":"x.y.z.foo","type":"fixed","size":32}', -3064184465700546786n],
  ['{"type":"array","items":"null"}', -589620603366471059n],
  ['{"type":"map","values":"string"}', -8732877298790414990n],
  [
    '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    -1759257747318642341n,
  ],
];

describe('CRC-64-AVRO', () => {
  it.each(SPEC_VECTORS)('fingerprints %s as in the Avro specification', (canonical, expected) => {
    expect(toSignedInt64(crc64Avro(canonical))).toBe(expected);
  });

  it('fingerprints the canonical form avsc produces, so non-canonical input gives the same value', () => {
    const verbose = {
      fields: [{ type: { type: 'boolean' }, name: 'f1', doc: 'x', aliases: [] }],
      type: 'record',
      name: 'foo',
      doc: 'd',
    };
    const canonical = canonicalForm(avro.Type.forSchema(verbose as avro.Schema));
    expect(canonical).toBe('{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}');
    expect(toSignedInt64(crc64Avro(canonical))).toBe(7843277075252814651n);
  });
});
