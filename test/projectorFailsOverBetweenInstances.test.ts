import { countAuthDecisions } from '@keytrail/clickhouse';
import { describe, expect, it } from 'vitest';
import {
  expectExactCounts,
  groupLag,
  makeDecisions,
  produceDecisions,
  startProjector,
  waitFor,
  withProjectorFixture,
} from './kit/index.ts';

const TOTAL = 80_000;

describe('two projector instances share the partitions', () => {
  it('when one is SIGKILLed mid-projection the other takes its partitions over; counts stay exact', async () => {
    await withProjectorFixture(
      'failover',
      async ({ server, ch, prefix, kafka, topics }) => {
        const { events, expected } = makeDecisions(TOTAL, { seed: 11 });
        const env = { KEYTRAIL_PROJECTOR_MAX_BATCH: '2000' };
        const a = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix, env });
        const b = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix, env });
        // Events go in once both members share the partitions: the first one alone could
        // otherwise project all of them before the second joins.
        const admin = kafka.admin();
        await admin.connect();
        await waitFor(
          'both instances in the group',
          async () => {
            const { groups } = await admin.describeGroups([`${prefix}projector`]);
            return groups[0]?.state === 'Stable' && groups[0].members.length === 2;
          },
          60_000,
          100,
        );
        await admin.disconnect();
        await produceDecisions(kafka, topics, events);
        // Both members are working before one dies.
        await waitFor(
          'both instances projecting',
          async () => {
            const [na, nb] = [
              await a.metric('keytrail_projector_events_total'),
              await b.metric('keytrail_projector_events_total'),
            ];
            return na > 0 && nb > 0;
          },
          60_000,
          50,
        );
        const before = await countAuthDecisions(ch);
        expect(before).toBeLessThan(TOTAL);
        a.child.kill('SIGKILL');
        expect(await a.exited).toBe('SIGKILL');

        await waitFor(
          'survivor committed everything',
          async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
          120_000,
          250,
        );
        expect(b.child.exitCode).toBeNull();
        await b.terminate();
        await expectExactCounts(ch, expected);
      },
      { partitions: 4 },
    );
  });
});
