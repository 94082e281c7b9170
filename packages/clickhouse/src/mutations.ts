import { sleep } from '@keytrail/core';
import type { ClickHouseDriver } from './driver/types.ts';

/**
 * Background work a migration or a retention change leaves behind: ClickHouse runs
 * `MATERIALIZE PROJECTION` and `MODIFY TTL` as mutations that rewrite every part after the
 * statement returned (at 100M decisions, migration 0021's took 59 s).
 */
export interface RunningMutation {
  table: string;
  mutation_id: string;
  command: string;
  /** Parts still to rewrite. */
  parts_to_do: number;
  /** Why the last attempt failed ('' when none did): the engine retries, so it may never end. */
  latest_fail_reason: string;
}

/** Mutations not yet done in the driver's database, oldest first. */
export function listRunningMutations(ch: ClickHouseDriver): Promise<RunningMutation[]> {
  return ch.query<RunningMutation>(
    `SELECT table, mutation_id, command, parts_to_do, latest_fail_reason
     FROM system.mutations
     WHERE database = currentDatabase() AND NOT is_done
     ORDER BY create_time, mutation_id`,
  );
}

/** How many mutations are not yet done (a bench waits for none before it measures idle). */
export async function countRunningMutations(ch: ClickHouseDriver): Promise<number> {
  return (await listRunningMutations(ch)).length;
}

/**
 * One line per mutation: its table, what it does and how far it is, against the most parts it
 * had left when first seen (`seen`, updated here), and why its last attempt failed if it did.
 */
export function describeMutations(
  mutations: readonly RunningMutation[],
  seen: Map<string, number>,
): string[] {
  return mutations.map((m) => {
    const id = `${m.table}/${m.mutation_id}`;
    const total = Math.max(seen.get(id) ?? 0, Number(m.parts_to_do));
    seen.set(id, total);
    // system.mutations wraps the command in parentheses: `(MATERIALIZE PROJECTION by_end_user)`.
    const command = m.command
      .replace(/\s+/g, ' ')
      .trim()
      .replace(/^\((.*)\)$/, '$1');
    const progress = `${(total - Number(m.parts_to_do)).toLocaleString('en')} of ${total.toLocaleString('en')} parts done`;
    return `${m.table}: ${command}, ${progress}${m.latest_fail_reason ? `; last attempt failed: ${m.latest_fail_reason}` : ''}`;
  });
}

/**
 * Waits until the database has no mutation left, reporting progress every `intervalMs` (and at
 * once, when there is any). Resolves with how many mutations it saw and how long it waited;
 * stops early, quietly, on `signal`.
 */
export async function waitForMutations(
  ch: ClickHouseDriver,
  options: { onProgress: (lines: string[]) => void; intervalMs?: number; signal?: AbortSignal },
): Promise<{ mutations: number; waitedMs: number }> {
  const started = Date.now();
  const seen = new Map<string, number>();
  const intervalMs = options.intervalMs ?? 2_000;
  // Checked more often than reported, so the wait ends soon after the work.
  const pollMs = Math.min(1_000, intervalMs / 4);
  let reported = -Infinity;
  while (!options.signal?.aborted) {
    const running = await listRunningMutations(ch);
    if (running.length === 0) break;
    const lines = describeMutations(running, seen);
    if (Date.now() - reported >= intervalMs) {
      options.onProgress(lines);
      reported = Date.now();
    }
    await sleep(pollMs);
  }
  return { mutations: seen.size, waitedMs: Date.now() - started };
}
