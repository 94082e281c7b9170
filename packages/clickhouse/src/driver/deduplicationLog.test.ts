import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  orphanedEntries,
  parseDeduplicationLog,
  parsePartName,
  repairDeduplicationLogs,
} from './deduplicationLog.ts';

describe('deduplication log repair (pure)', () => {
  it('reads ClickHouse records and part names, and nothing else as a part', () => {
    expect(parseDeduplicationLog('1\t202611_3_3_0\t202611_1_2\n2\t202611_3_3_0\t202611_1_2\n')).toEqual([
      { op: 'add', part: '202611_3_3_0', blockId: '202611_1_2' },
      { op: 'drop', part: '202611_3_3_0', blockId: '202611_1_2' },
    ]);
    expect(() => parseDeduplicationLog('3\tx\ty\n')).toThrow(/unreadable/);
    expect(parsePartName('202611_1_30_3')).toEqual({ partition: '202611', min: 1, max: 30 });
    expect(parsePartName('all_4_4_0_7')).toEqual({ partition: 'all', min: 4, max: 4 });
    for (const name of [
      'tmp_insert_202611_4_4_0',
      'detached',
      'deduplication_logs',
      'delete_tmp_all_1_1_0',
    ]) {
      expect(parsePartName(name)).toBeUndefined();
    }
  });

  it('orphans only live entries that no part on disk covers', () => {
    const log = parseDeduplicationLog(
      [
        '1\t202611_1_1_0\tb1', // merged into 202611_1_3_1: covered
        '1\t202611_4_4_0\tb4', // on disk
        '1\t202611_5_5_0\tb5', // lost
        '1\t202610_5_5_0\tb5o', // same blocks, other partition, lost
        '1\t202611_6_6_0\tb6', // lost, but already dropped
        '2\t202611_6_6_0\tb6',
        '',
      ].join('\n'),
    );
    const onDisk = [
      '202611_1_3_1',
      '202611_4_4_0',
      'tmp_insert_202611_5_5_0',
      'detached',
      'format_version.txt',
    ];
    expect(orphanedEntries(log, onDisk).map((r) => r.blockId)).toEqual(['b5', 'b5o']);
    expect(orphanedEntries(log, [...onDisk, '202611_1_9_2', '202610_5_5_0'])).toEqual([]);
  });

  it('appends a drop record for an orphan, and reports a log it cannot read instead of guessing', () => {
    const root = mkdtempSync(join(tmpdir(), 'kt-dedup-'));
    const table = (uuid: string, log: string, parts: string[]) => {
      const dir = join(root, 'store', uuid.slice(0, 3), uuid);
      mkdirSync(join(dir, 'deduplication_logs'), { recursive: true });
      for (const part of parts) mkdirSync(join(dir, part));
      writeFileSync(join(dir, 'deduplication_logs', 'deduplication_log_1.txt'), log);
      return join(dir, 'deduplication_logs', 'deduplication_log_1.txt');
    };
    const good = table('aaa-1', '1\tall_1_1_0\tb1\n1\tall_2_2_0\tb2\n', ['all_1_1_0']);
    table('bbb-2', '7\tall_1_1_0\tb1\n', []);
    mkdirSync(join(root, 'metadata', 'default'), { recursive: true });
    writeFileSync(join(root, 'metadata', 'default', 't.sql'), "ATTACH TABLE _ UUID 'aaa-1'\n(x UInt64)");
    const repairs = repairDeduplicationLogs(root);
    expect(repairs).toEqual([
      expect.objectContaining({ kind: 'dropped', table: 'default.t', part: 'all_2_2_0', blockId: 'b2' }),
      expect.objectContaining({ kind: 'unreadable', table: undefined }),
    ]);
    expect(readFileSync(good, 'utf8')).toBe('1\tall_1_1_0\tb1\n1\tall_2_2_0\tb2\n2\tall_2_2_0\tb2\n');
    // Run again: nothing more to drop.
    expect(repairDeduplicationLogs(root).filter((r) => r.kind === 'dropped')).toEqual([]);
  });
});
