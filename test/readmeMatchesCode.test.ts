import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '@keytrail/cli/commands';
import { CONFIG_VARIABLES } from '@keytrail/core';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, spawnKeytrail } from './kit/index.ts';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const section = (title: string) => readme.split(/^## /m).find((s) => s.startsWith(title)) ?? '';

describe('README matches the code', () => {
  it('documents exactly the configuration variables the code reads', () => {
    const table = [...section('Configuration').matchAll(/^\| `(KEYTRAIL_[A-Z_]+)`\s*\|/gm)].map((m) => m[1]);
    expect(table).toEqual([...CONFIG_VARIABLES]);
  });

  it('documents exactly the CLI commands that exist', () => {
    const table = [...section('CLI').matchAll(/^\| `([a-z]+)`\s*\|/gm)].map((m) => m[1]);
    expect(table).toEqual(COMMANDS.filter((c) => c !== 'help'));
  });

  it('an unknown command fails with usage, exit code 2', async () => {
    const run = spawnKeytrail(['frobnicate'], {});
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(/unknown command "frobnicate"[\s\S]*Commands:/);
  });

  it('a bad variable fails with its name, exit code 1', async () => {
    const run = spawnKeytrail(['migrate'], { KEYTRAIL_PORT: 'eighty' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/KEYTRAIL_PORT/);
  });
});
