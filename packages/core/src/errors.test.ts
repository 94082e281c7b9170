import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, KeytrailError } from './errors.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('error catalogue', () => {
  it('matches the table in its README, code for code and status for status', () => {
    const documented = Object.fromEntries(
      [...readme.matchAll(/^\| `([A-Z_]+)`\s*\| (\d{3})\s*\|/gm)].map((m) => [m[1], Number(m[2])]),
    );
    const catalogue = Object.fromEntries(
      Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, e.status]),
    );
    expect(documented).toEqual(catalogue);
  });

  it('gives every error its status, retriability and cause', () => {
    const cause = new Error('socket hang up');
    const err = new KeytrailError('UNAVAILABLE', 'Kafka is away', { retriable: true, cause });
    expect(err).toMatchObject({
      code: 'UNAVAILABLE',
      status: 503,
      retriable: true,
      cause,
      message: 'Kafka is away',
    });
    expect(new KeytrailError('NOT_FOUND').message).toBe(ERROR_CATALOGUE.NOT_FOUND.message);
  });
});
