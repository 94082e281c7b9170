import { describe, expect, it } from 'vitest';
import { clickHouseErrorCode, isRowDataError, toClickHouseError } from './errors.ts';

/** What chdb throws (both drivers' errors carry the same code and text). */
const chdbError = (code: number, message: string) =>
  Object.assign(new Error(`Code: ${code}. DB::Exception: ${message}`), {
    clickhouseCode: code,
    code: 'CHDB_QUERY',
  });

describe('ClickHouse error classification', () => {
  it('reads the code from either driver', () => {
    expect(clickHouseErrorCode(chdbError(62, 'Syntax error'))).toBe(62);
    expect(clickHouseErrorCode(Object.assign(new Error('x'), { code: '241' }))).toBe(241);
    expect(clickHouseErrorCode(new Error('Code: 53. DB::Exception: Type mismatch'))).toBe(53);
  });

  it('marks transient failures retriable and the rest not', () => {
    expect(
      toClickHouseError(chdbError(209, 'Timeout exceeded while reading from socket'), 'q').retriable,
    ).toBe(true);
    expect(toClickHouseError(chdbError(241, 'Memory limit exceeded'), 'q').retriable).toBe(true);
    expect(
      toClickHouseError(chdbError(252, 'Too many parts (3001). Merges are slower than inserts'), 'q')
        .retriable,
    ).toBe(true);
    expect(
      toClickHouseError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'q')
        .retriable,
    ).toBe(true);
    expect(toClickHouseError(chdbError(62, 'Syntax error: failed at position 7'), 'q').retriable).toBe(false);
    expect(toClickHouseError(chdbError(60, 'Unknown table default.nope'), 'q').retriable).toBe(false);
    expect(toClickHouseError(chdbError(53, 'Type mismatch'), 'q').retriable).toBe(false);
  });

  it("tells errors about an insert's rows from the rest", () => {
    const partitions = toClickHouseError(
      chdbError(252, 'Too many partitions for single INSERT block (more than 100).'),
      'insert',
    );
    expect(partitions.retriable).toBe(false);
    expect(isRowDataError(partitions)).toBe(true);
    expect(isRowDataError(toClickHouseError(chdbError(53, 'Type mismatch'), 'insert'))).toBe(true);
    expect(isRowDataError(toClickHouseError(chdbError(60, 'Unknown table'), 'insert'))).toBe(false);
    expect(isRowDataError(toClickHouseError(chdbError(252, 'Too many parts (3001)'), 'insert'))).toBe(false);
  });
});
