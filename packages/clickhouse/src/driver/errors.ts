import { isTransient, KeytrailError } from '@keytrail/core';

// ClickHouse error codes that mean "try again": network, timeouts, too many parts/queries, memory.
// 252 is TOO_MANY_PARTS, but ClickHouse also raises it for "too many partitions for a single
// INSERT block", which no retry fixes: the message tells the two apart (see isRowDataError).
const RETRIABLE_CODES = new Set([159, 164, 202, 203, 209, 210, 241, 242, 252, 285, 319, 394, 425, 999, 1000]);

// Codes ClickHouse raises because of the rows an insert carries (a value it cannot parse,
// convert or place): another try with the same rows fails the same way, other rows may pass.
const ROW_DATA_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  407, // DECIMAL_OVERFLOW
]);

const TOO_MANY_PARTITIONS = /Too many partitions for single INSERT block/i;

/** The ClickHouse error code of a driver failure (either driver), when it has one. */
export function clickHouseErrorCode(err: unknown): number | undefined {
  const cause = (err instanceof KeytrailError ? err.cause : err) as
    | { code?: unknown; clickhouseCode?: unknown; message?: unknown }
    | undefined;
  if (typeof cause?.clickhouseCode === 'number') return cause.clickhouseCode;
  const code = Number(cause?.code);
  if (Number.isInteger(code) && code > 0) return code;
  const inText = /\bCode: (\d+)\./.exec(String(cause?.message ?? ''));
  return inText ? Number(inText[1]) : undefined;
}

/**
 * True when ClickHouse refused an insert because of some of its rows: the same rows will always
 * be refused, but a subset may be taken. The projector splits such a batch and dead-letters the
 * rows that still fail on their own.
 */
export function isRowDataError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  if (TOO_MANY_PARTITIONS.test(message)) return true;
  const code = clickHouseErrorCode(err);
  return code !== undefined && ROW_DATA_CODES.has(code);
}

/** Wraps a driver failure as a KeytrailError, retriable when the cause is transient. */
export function toClickHouseError(cause: unknown, what: string): KeytrailError {
  const err = cause as { message?: string } | undefined;
  const chCode = clickHouseErrorCode(cause);
  // Network failures and timeouts by the one rule of @keytrail/core; then ClickHouse's own codes.
  const retriable =
    isTransient(cause) ||
    (chCode !== undefined && RETRIABLE_CODES.has(chCode) && !TOO_MANY_PARTITIONS.test(err?.message ?? ''));
  return new KeytrailError(
    retriable ? 'UNAVAILABLE' : 'INTERNAL',
    `ClickHouse ${what}: ${err?.message ?? String(cause)}`,
    {
      retriable,
      cause,
    },
  );
}
