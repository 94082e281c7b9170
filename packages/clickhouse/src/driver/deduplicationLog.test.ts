import { describe, expect, it } from 'vitest';
import { orphanedEntries, parseDeduplicationLog, parsePartName } from './deduplicationLog.ts';

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
});
