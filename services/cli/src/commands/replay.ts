import type { KeytrailConfig, Logger } from '@keytrail/core';
import { createSchemaRegistry } from '@keytrail/kafka';
import { projectorGroupId, type ReplayProgress, replayPlan, replayProjections } from '@keytrail/projector';
import type { Lifecycle } from '../lifecycle.ts';
import { connectClickHouse, connectKafka, createCodec } from '../runtime.ts';

/** Prints replay progress to stderr, at most twice a second (and every phase change). */
function createProgressPrinter(write: (line: string) => void = (line) => process.stderr.write(line)) {
  let last = 0;
  let lastPhase = '';
  return (p: ReplayProgress) => {
    const now = Date.now();
    if (p.phase === lastPhase && now - last < 500 && p.done < p.total) return;
    if (p.phase !== lastPhase && lastPhase) write('\n');
    last = now;
    lastPhase = p.phase;
    if (p.phase === 'waiting-for-projectors') {
      write(
        '\rwaiting for the projectors to stop (stop `keytrail projector` / `keytrail up`) to switch over…',
      );
      return;
    }
    const percent = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 100;
    write(
      `\r${p.phase}: ${percent}% (${p.done.toLocaleString('en')} of ${p.total.toLocaleString('en')} messages, ${p.eventsPerSecond.toLocaleString('en')}/s)`,
    );
  };
}

/** `keytrail replay`: rebuild every projection from the topics into fresh tables, then switch over. */
export async function runReplay(options: {
  config: KeytrailConfig;
  logger: Logger;
  lifecycle: Lifecycle;
  keepOld: boolean;
  /** Print what would be rebuilt and what is kept, then stop: touches neither Kafka nor data. */
  dryRun: boolean;
}) {
  const { config, logger, lifecycle } = options;
  if (options.dryRun) {
    const ch = await connectClickHouse(config, lifecycle, logger, { allowEmbedded: true });
    const plan = await replayPlan(ch);
    console.log(`replay --dry-run on database ${ch.database}:`);
    console.log(`  rebuild from the topics (${plan.projections.length}): ${plan.projections.join(', ')}`);
    console.log(`  leave alone, Keytrail's own state (${plan.ownState.length}): ${plan.ownState.join(', ')}`);
    return;
  }
  const { kafka, topics } = await connectKafka(config, lifecycle, logger, { allowManaged: true });
  const ch = await connectClickHouse(config, lifecycle, logger, { allowEmbedded: true });
  const registry = createSchemaRegistry({ kafka, topic: topics.schemas, logger });
  lifecycle.add({ name: 'schema registry', stop: () => registry.close() });
  const result = await replayProjections({
    registry,
    kafka,
    ch,
    codec: createCodec(),
    topics,
    logger,
    projectorGroupId: projectorGroupId(config.topicPrefix),
    retention: { rawTtlDays: config.rawTtlDays, dedupWindowHours: config.dedupWindowHours },
    maxBatchEvents: config.projector.maxBatchEvents,
    keepOld: options.keepOld,
    onProgress: createProgressPrinter(),
  });
  process.stderr.write('\n');
  console.log(
    `replay done: ${result.events} events projected, ${result.retriesDropped} retries dropped, ${result.deadLetters} dead letters; switched ${result.tables.length} tables, kept ${result.kept.join(', ')}`,
  );
}
