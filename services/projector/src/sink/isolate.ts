/** A row ClickHouse refused on its own, and why. */
export interface RefusedRow<Row> {
  row: Row;
  error: unknown;
}

/**
 * Inserts `rows` under `token`; when ClickHouse refuses them because of some of the rows
 * (`isRowError`), inserts each half under a token of its own (`<token>/a`, `<token>/b`), down to
 * single rows, and returns the rows refused on their own. Any other error is thrown, so the
 * caller's retry runs the whole insert again.
 *
 * Why this keeps the exactly-once effect: the split depends only on the rows and on what
 * ClickHouse refuses, so a redo after a crash forms the same inserts with the same tokens, and
 * ClickHouse discards the ones that had landed. Why halves: a batch that spans too many
 * partitions lands in a few inserts, and one bad row among 50,000 costs about 32 inserts.
 */
export async function insertIsolatingRefusedRows<Row>(
  rows: readonly Row[],
  token: string,
  insert: (rows: readonly Row[], token: string) => Promise<void>,
  isRowError: (err: unknown) => boolean,
): Promise<RefusedRow<Row>[]> {
  try {
    await insert(rows, token);
    return [];
  } catch (error) {
    if (!isRowError(error) || rows.length === 0) throw error;
    if (rows.length === 1) return [{ row: rows[0]!, error }];
    const middle = Math.ceil(rows.length / 2);
    const left = await insertIsolatingRefusedRows(rows.slice(0, middle), `${token}/a`, insert, isRowError);
    const right = await insertIsolatingRefusedRows(rows.slice(middle), `${token}/b`, insert, isRowError);
    return [...left, ...right];
  }
}
