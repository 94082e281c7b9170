import { KeytrailError } from '@keytrail/core';

// ClickHouse error codes that mean "try again": network, timeouts, too many parts/queries, memory.
const RETRIABLE_CODES = new Set([159, 164, 202, 203, 209, 210, 241, 242, 252, 285, 319, 394, 425, 999, 1000]);

/** Wraps a driver failure as a KeytrailError, retriable when the cause is transient. */
export function toClickHouseError(cause: unknown, what: string): KeytrailError {
  const err = cause as { code?: unknown; clickhouseCode?: unknown; message?: string };
  const chCode = typeof err?.clickhouseCode === 'number' ? err.clickhouseCode : Number(err?.code);
  const network =
    typeof err?.code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|UND_ERR)/.test(err.code);
  const timeout = /timeout|socket hang up|ECONNREFUSED|ECONNRESET|fetch failed/i.test(err?.message ?? '');
  const retriable = network || timeout || RETRIABLE_CODES.has(chCode);
  return new KeytrailError(
    retriable ? 'UNAVAILABLE' : 'INTERNAL',
    `ClickHouse ${what}: ${err?.message ?? String(cause)}`,
    {
      retriable,
      cause,
    },
  );
}
