import { parseArgs } from 'node:util';
import {
  applyRetention,
  createClickHouseDriver,
  describeDeduplicationRepair,
  migrate,
  waitForMutations,
} from '@keytrail/clickhouse';
import {
  createLogger,
  type DataDirLock,
  errorMessage,
  type KeytrailConfig,
  loadConfig,
  lockDataDir,
} from '@keytrail/core';
import { COMMANDS } from './commandList.ts';
import { type ServiceName, serve } from './commands/serve.ts';
import { simulate } from './commands/simulate.ts';
import { createLifecycle } from './lifecycle.ts';
import { connectKafka } from './runtime.ts';

const HELP = `keytrail <command> [options]

Commands:
  up          all-in-one: ingest + projector + alerter + API on KEYTRAIL_PORT, embedded ClickHouse,
              managed Kafka unless KEYTRAIL_KAFKA_BROKERS is set
              --demo      also send simulated traffic (with a leaked-key probe attack)
              --exit      with --demo: stop after printing the demo summary
  ingest      distributed mode: POST /v1/events → Kafka
  projector   distributed mode: Kafka → ClickHouse
  alerter     distributed mode: detection → keytrail.alerts → ClickHouse and signed webhooks
  api         distributed mode: the query API
  replay      rebuild every projection from the topics into fresh tables, then switch over
              (waits for the projectors to stop before the switch); API tokens are kept
              --keep-old  keep the replaced tables in <database>_replay
              --dry-run   print what would be rebuilt and what is left alone
  migrate     apply pending ClickHouse migrations and exit
  simulate    send seeded realistic traffic to a running Keytrail
              --url URL (default http://127.0.0.1:$KEYTRAIL_PORT)  --token T (default $KEYTRAIL_ADMIN_TOKEN)
              --seed N (7)  --events N (10000)  --no-attack

Environment: KEYTRAIL_KAFKA_BROKERS, KEYTRAIL_CLICKHOUSE_URL, KEYTRAIL_DATA_DIR, KEYTRAIL_PORT,
KEYTRAIL_ADMIN_TOKEN, KEYTRAIL_TOPIC_PREFIX (see README.md).`;

/**
 * The embedded database and the managed broker live in KEYTRAIL_DATA_DIR and belong to one
 * process: a command that uses either takes the directory first, so a second start is refused
 * before it touches anything.
 */
function takeDataDir(
  config: KeytrailConfig,
  command: string,
  lifecycle: ReturnType<typeof createLifecycle>,
): DataDirLock {
  const lock = lockDataDir(config.dataDir, command);
  lifecycle.add({ name: 'data directory lock', stop: async () => lock.release() });
  return lock;
}

/** Runs one CLI command; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      demo: { type: 'boolean', default: false },
      exit: { type: 'boolean', default: false },
      url: { type: 'string' },
      token: { type: 'string' },
      seed: { type: 'string', default: '7' },
      events: { type: 'string', default: '10000' },
      'no-attack': { type: 'boolean', default: false },
      'keep-old': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0] ?? 'help';
  if (values.help || command === 'help') {
    console.log(HELP);
    return 0;
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    console.error(`keytrail: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  // The demo prints what it shows through the API: info lines (every alert fired) would break into
  // its progress line. KEYTRAIL_LOG_LEVEL still wins.
  const logger = createLogger(
    `keytrail-${command}`,
    process.env.KEYTRAIL_LOG_LEVEL ?? (values.demo ? 'warn' : 'info'),
  );
  const lifecycle = createLifecycle(logger);
  try {
    const config = loadConfig();
    switch (command) {
      case 'up': {
        // The demo's webhook receiver listens on loopback: the demo opts in to private addresses.
        if (values.demo) config.webhooks.allowPrivate = true;
        const usesDataDir = !config.clickhouseUrl || !config.kafkaBrokers;
        const lock = usesDataDir ? takeDataDir(config, command, lifecycle) : undefined;
        const served = await serve({
          config,
          logger,
          lifecycle,
          services: ['ingest', 'projector', 'alerter', 'api'],
          allInOne: true,
          ownsDataDir: lock !== undefined,
        });
        lock?.update({ url: served.url });
        console.log(`\nKeytrail is up at ${served.url}`);
        console.log(
          `  Kafka: ${served.brokers.join(',')}   ClickHouse: ${config.clickhouseUrl ? 'HTTP' : `embedded (${config.dataDir}/clickhouse)`}`,
        );
        console.log(
          `  Admin token${served.generatedToken ? ' (generated for this run)' : ''}: ${served.adminToken}`,
        );
        console.log(`  Dashboard: ${served.url}/   API reference: ${served.url}/docs`);
        console.log('  Ctrl-C stops everything it started.\n');
        if (values.demo) {
          const { runDemo } = await import('./commands/demo.ts');
          await runDemo({
            url: served.url,
            token: served.adminToken,
            ch: served.ch!,
            seed: Number(values.seed),
          });
          if (values.exit) {
            await lifecycle.stopAll();
            return 0;
          }
        }
        await lifecycle.untilSignal();
        return 0;
      }
      case 'ingest':
      case 'projector':
      case 'alerter':
      case 'api': {
        const served = await serve({
          config,
          logger,
          lifecycle,
          services: [command as ServiceName],
          allInOne: false,
        });
        logger.info(`keytrail ${command} running${served.url ? ` at ${served.url}` : ''}`);
        await lifecycle.untilSignal();
        return 0;
      }
      case 'replay': {
        if (!config.clickhouseUrl || !config.kafkaBrokers) takeDataDir(config, command, lifecycle);
        const { runReplay } = await import('./commands/replay.ts');
        await runReplay({
          config,
          logger,
          lifecycle,
          keepOld: values['keep-old'],
          dryRun: values['dry-run'],
        });
        await lifecycle.stopAll();
        return 0;
      }
      case 'migrate': {
        if (!config.clickhouseUrl) takeDataDir(config, command, lifecycle);
        // With a cluster configured, migrate also creates missing topics and checks existing ones.
        if (config.kafkaBrokers) {
          const { topics } = await connectKafka(config, lifecycle, logger, { allowManaged: false });
          console.log(`topics: ${Object.values(topics).join(', ')}`);
        }
        const ch = createClickHouseDriver({
          url: config.clickhouseUrl,
          dataDir: config.dataDir,
          onDeduplicationRepair: (repair) => console.log(describeDeduplicationRepair(repair)),
        });
        try {
          const status = await migrate(ch, { onApplied: (m) => console.log(`applied ${m.name}`) });
          await applyRetention(ch, {
            rawTtlDays: config.rawTtlDays,
            dedupWindowHours: config.dedupWindowHours,
          });
          console.log(`migrations: ${status.applied.length} applied, ${status.pending.length} pending`);
          // What the migrations and the retention left running in the background (a projection
          // or a TTL rewritten into every part): shown until done, so the operator knows when
          // queries run at full speed. Ctrl-C stops the wait, not the work.
          const background = await waitForMutations(ch, {
            onProgress: (lines) => {
              for (const line of lines) console.log(`in the background: ${line}`);
            },
          });
          if (background.mutations > 0)
            console.log(`background work done in ${(background.waitedMs / 1000).toFixed(1)} s`);
        } finally {
          await ch.close();
          await lifecycle.stopAll();
        }
        return 0;
      }
      case 'simulate': {
        const token = values.token ?? config.adminToken;
        if (!token) throw new Error('simulate needs --token or KEYTRAIL_ADMIN_TOKEN');
        const total = Number(values.events);
        const result = await simulate({
          url: values.url ?? `http://127.0.0.1:${config.port}`,
          token,
          seed: Number(values.seed),
          decisions: total,
          probeAttack: !values['no-attack'],
          onProgress: (sent) => process.stderr.write(`\rsent ${sent} events`),
        });
        process.stderr.write('\n');
        console.log(JSON.stringify(result));
        return result.rejected > 0 ? 1 : 0;
      }
    }
    return 0;
  } catch (err) {
    console.error(`keytrail ${command}: ${errorMessage(err)}`);
    await lifecycle.stopAll();
    return 1;
  }
}
