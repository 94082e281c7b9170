import { describe, expect, it } from 'vitest';
import { fullAuthDecision, fullKeyLifecycle } from './fixtures.ts';
import { listSchemaFiles } from './schemas.ts';
import {
  ACTOR_KINDS,
  CREDENTIAL_KINDS,
  KEY_ENVS,
  KEY_TYPES,
  LIFECYCLE_TYPES,
  LIMIT_WINDOWS,
  OUTCOMES,
  QUOTA_PERIODS,
} from './types.ts';

type Node = { name?: string; type?: unknown; fields?: { name: string; type: unknown }[]; symbols?: string[] };

function findEnum(schema: unknown, name: string): string[] | undefined {
  if (Array.isArray(schema)) return schema.map((s) => findEnum(s, name)).find(Boolean);
  if (!schema || typeof schema !== 'object') return undefined;
  const node = schema as Node;
  if (node.name === name && node.symbols) return node.symbols;
  return [node.type, ...(node.fields ?? []).map((f) => f.type), (node as { items?: unknown }).items]
    .map((child) => findEnum(child, name))
    .find(Boolean);
}

describe('TypeScript types match the .avsc schemas', () => {
  const files = listSchemaFiles();
  const schema = (kind: string) => files.filter((f) => f.kind === kind).at(-1)!.schema as Node;

  it('AuthDecision has exactly the schema fields, in order', () => {
    expect(Object.keys(fullAuthDecision())).toEqual(schema('auth_decision').fields!.map((f) => f.name));
  });

  it('KeyLifecycle has exactly the schema fields, in order', () => {
    expect(Object.keys(fullKeyLifecycle())).toEqual(schema('key_lifecycle').fields!.map((f) => f.name));
  });

  it.each([
    ['auth_decision', 'Outcome', OUTCOMES],
    ['auth_decision', 'KeyEnv', KEY_ENVS],
    ['auth_decision', 'CredentialKind', CREDENTIAL_KINDS],
    ['auth_decision', 'KeyType', KEY_TYPES],
    ['auth_decision', 'LimitWindow', LIMIT_WINDOWS],
    ['key_lifecycle', 'LifecycleType', LIFECYCLE_TYPES],
    ['key_lifecycle', 'QuotaPeriod', QUOTA_PERIODS],
    ['key_lifecycle', 'ActorKind', ACTOR_KINDS],
  ] as const)('%s enum %s has the same symbols', (kind, name, symbols) => {
    expect(findEnum(schema(kind), name)).toEqual([...symbols]);
  });

  it('enum symbols are UPPER_SNAKE_CASE', () => {
    for (const list of [
      OUTCOMES,
      KEY_ENVS,
      CREDENTIAL_KINDS,
      KEY_TYPES,
      LIMIT_WINDOWS,
      LIFECYCLE_TYPES,
      QUOTA_PERIODS,
      ACTOR_KINDS,
    ]) {
      for (const symbol of list) expect(symbol).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
  });
});
