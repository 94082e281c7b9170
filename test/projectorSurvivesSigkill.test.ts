import { countAuthDecisions } from '@keytrail/clickhouse';
import { createRandom } from '@keytrail/simulator';
import { describe, expect, it } from 'vitest';
import {
  expectExactCounts,
  groupLag,
  makeDecisions,
  produceDecisions,
  spawnKeytrail,
  testBrokers,
  waitFor,
  withProjectorFixture,
} from './kit/index.ts';

const TOTAL = 200_000;

describe('the projector survives SIGKILL', () => {
  it(`counts ${TOTAL.toLocaleString('en')} events exactly after being SIGKILLed at 5+ random moments mid-projection`, async () => {
    await withProjectorFixture('sigkill', async ({ server, ch, prefix, kafka, topics }) => {
      const { events, expected } = makeDecisions(TOTAL);
      await produceDecisions(kafka, topics, events);

      const env = {
        KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
        KEYTRAIL_CLICKHOUSE_URL: server.url,
        KEYTRAIL_TOPIC_PREFIX: prefix,
        KEYTRAIL_PORT: '0',
        KEYTRAIL_LOG_LEVEL: 'info',
        // Small batches: many commit points, so kills land before, inside and after inserts.
        KEYTRAIL_PROJECTOR_MAX_BATCH: '4000',
        KEYTRAIL_PROJECTOR_SESSION_TIMEOUT_MS: '6000',
      };
      const random = createRandom(20261122);
      const countsAtKill: number[] = [];
      while (countsAtKill.filter((n) => n > 0 && n < TOTAL).length < 5) {
        if (countsAtKill.length >= 20)
          throw new Error(`only ${countsAtKill.join(', ')} rows at the kills: the projector outran the test`);
        const projector = spawnKeytrail(['projector'], env);
        // Kill once it has written something new (or after a random pause), at a random moment.
        const before = await countAuthDecisions(ch);
        await waitFor(
          'progress',
          async () => (await countAuthDecisions(ch)) > before || projector.child.exitCode !== null,
          60_000,
          20,
        );
        await new Promise((r) => setTimeout(r, random.int(0, 400)));
        projector.child.kill('SIGKILL');
        expect(await projector.exited).toBe('SIGKILL');
        countsAtKill.push(await countAuthDecisions(ch));
      }

      const last = spawnKeytrail(['projector'], env);
      // Every offset committed means every batch inserted (offsets are committed after the insert),
      // so a double count shows below as an exact mismatch, not as a wait that never ends.
      await waitFor(
        'every offset committed',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
        120_000,
        200,
      );
      expect(await last.terminate()).toBe(0);

      console.log(`rows at each SIGKILL: ${countsAtKill.join(', ')}`);
      await expectExactCounts(ch, expected);
    });
  });
});
