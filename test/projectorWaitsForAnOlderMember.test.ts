import { createLogger, type Logger } from '@keytrail/core';
import { createEventCodec } from '@keytrail/events';
import { createProjector, projectorGroupId } from '@keytrail/projector';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  expectExactCounts,
  groupLag,
  joinGroupIdle,
  makeDecisions,
  produceDecisions,
  waitFor,
  withProjectorFixture,
} from './kit/index.ts';

describe('a member of an older version in the group', () => {
  it('keeps the projector out (it offers only the plan-aware protocol) until it leaves; then every count is exact', async () => {
    await withProjectorFixture('older-member', async ({ ch, prefix, kafka, topics }) => {
      const { events, expected } = makeDecisions(3_000, { seed: 5 });
      await produceDecisions(kafka, topics, events);
      const groupId = projectorGroupId(prefix);
      // What a projector before the plan-aware assignor was: a kafkajs member offering round-robin.
      const older = await joinGroupIdle(kafka, groupId, topics.authDecisions);

      const errors: string[] = [];
      const base = createLogger('older-member', 'warn');
      const logger: Logger = Object.assign(Object.create(base) as Logger, {
        error: (fields: { err?: Error }, line?: string) =>
          errors.push(`${line} ${fields.err?.message ?? ''}`),
      });
      const projector = createProjector({
        kafka,
        ch,
        codec: createEventCodec(),
        topics,
        logger,
        metrics: new Registry(),
        groupId,
      });
      await projector.start();
      try {
        // Refused, not split: it restarts with backoff and writes nothing meanwhile.
        await waitFor('a refused join', () => errors.length >= 2, 30_000);
        expect(errors.join('\n')).toMatch(/protocol/i);
        expect(projector.isReady()).toBe(false);
        expect(await groupLag(kafka, groupId, topics.authDecisions)).toBe(events.length);
        await older.disconnect();
        await waitFor(
          'projected once the older member left',
          async () => (await groupLag(kafka, groupId, topics.authDecisions)) === 0,
          90_000,
          200,
        );
      } finally {
        await projector.stop();
      }
      await expectExactCounts(ch, expected);
    });
  });
});
