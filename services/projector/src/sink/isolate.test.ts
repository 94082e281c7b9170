import { describe, expect, it } from 'vitest';
import { insertIsolatingRefusedRows } from './isolate.ts';

class RowError extends Error {}
const isRowError = (err: unknown) => err instanceof RowError;

/** A fake ClickHouse: refuses any insert holding a bad row or spanning more than `maxMonths` months. */
function fakeTable(bad: Set<number>, maxMonths = Number.POSITIVE_INFINITY) {
  const landed = new Map<string, readonly number[]>();
  const insert = async (rows: readonly number[], token: string) => {
    if (landed.has(token)) return; // deduplicated, as ClickHouse does
    if (rows.some((r) => bad.has(r))) throw new RowError('Code: 53. TYPE_MISMATCH');
    if (new Set(rows.map((r) => Math.floor(r / 100))).size > maxMonths)
      throw new RowError('Too many partitions for single INSERT block');
    landed.set(token, rows);
  };
  const rows = () => [...landed.values()].flat().sort((a, b) => a - b);
  return { insert, landed, rows };
}

describe('insertIsolatingRefusedRows', () => {
  it('inserts a clean batch once, under its own token', async () => {
    const table = fakeTable(new Set());
    expect(await insertIsolatingRefusedRows([1, 2, 3], 't', table.insert, isRowError)).toEqual([]);
    expect([...table.landed.keys()]).toEqual(['t']);
  });

  it('lands every row but the bad ones, and returns those with their error', async () => {
    const rows = Array.from({ length: 1_000 }, (_, i) => i);
    const table = fakeTable(new Set([17, 500, 999]));
    const refused = await insertIsolatingRefusedRows(rows, 't', table.insert, isRowError);
    expect(refused.map((r) => r.row)).toEqual([17, 500, 999]);
    expect(refused[0]!.error).toBeInstanceOf(RowError);
    expect(table.rows()).toEqual(rows.filter((r) => ![17, 500, 999].includes(r)));
  });

  it('splits a batch spanning too many partitions until each insert fits, refusing nothing', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => i * 100); // 300 months
    const table = fakeTable(new Set(), 100);
    expect(await insertIsolatingRefusedRows(rows, 't', table.insert, isRowError)).toEqual([]);
    expect(table.rows()).toEqual(rows);
    for (const part of table.landed.values()) expect(part.length).toBeLessThanOrEqual(100);
  });

  it('is deterministic: a redo after a crash forms the same tokens, so nothing lands twice', async () => {
    const rows = Array.from({ length: 64 }, (_, i) => i);
    const table = fakeTable(new Set([3, 40]));
    let calls = 0;
    const crashing = async (r: readonly number[], token: string) => {
      if (++calls === 6) throw new Error('crash');
      await table.insert(r, token);
    };
    await expect(insertIsolatingRefusedRows(rows, 't', crashing, isRowError)).rejects.toThrow('crash');
    const refused = await insertIsolatingRefusedRows(rows, 't', table.insert, isRowError);
    expect(refused.map((r) => r.row)).toEqual([3, 40]);
    expect(table.rows()).toEqual(rows.filter((r) => r !== 3 && r !== 40));
  });

  it('throws any other error at once, without splitting', async () => {
    let calls = 0;
    const down = async () => {
      calls++;
      throw new Error('ECONNREFUSED');
    };
    await expect(insertIsolatingRefusedRows([1, 2, 3, 4], 't', down, isRowError)).rejects.toThrow(
      'ECONNREFUSED',
    );
    expect(calls).toBe(1);
  });
});
