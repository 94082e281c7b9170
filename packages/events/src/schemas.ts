import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { EventKind } from './types.ts';

/** Folder of the `.avsc` files: `<kind-with-dashes>.v<N>.avsc`. */
export const SCHEMA_DIR = fileURLToPath(new URL('../schemas/', import.meta.url));

const FILE_KIND: Record<string, EventKind> = {
  'auth-decision': 'auth_decision',
  'key-lifecycle': 'key_lifecycle',
};

export interface SchemaFile {
  kind: EventKind;
  version: number;
  file: string;
  schema: avro.Schema;
}

/** Every schema version shipped in ../schemas, oldest first. */
export function listSchemaFiles(dir = SCHEMA_DIR): SchemaFile[] {
  const files: SchemaFile[] = [];
  for (const file of readdirSync(dir)) {
    const match = /^([a-z-]+)\.v(\d+)\.avsc$/.exec(file);
    if (!match) continue;
    const kind = FILE_KIND[match[1]!];
    if (!kind) throw new Error(`schema file ${file}: unknown event kind "${match[1]}"`);
    files.push({
      kind,
      version: Number(match[2]),
      file,
      schema: JSON.parse(readFileSync(new URL(file, `file://${dir}`), 'utf8')) as avro.Schema,
    });
  }
  return files.sort((a, b) => a.kind.localeCompare(b.kind) || a.version - b.version);
}

/** Builds an avsc Type. Unions of null and one type decode as the bare value or null. */
export function toAvroType(schema: avro.Schema): avro.Type {
  return avro.Type.forSchema(schema, { wrapUnions: 'auto' });
}

/** The schema's Parsing Canonical Form (what the fingerprint is taken of). */
export function canonicalForm(type: avro.Type): string {
  return JSON.stringify(type.schema());
}
