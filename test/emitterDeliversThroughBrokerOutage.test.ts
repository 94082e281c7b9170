import { createEmitter } from '@keytrail/emitter';
import { createEventCodec } from '@keytrail/events';
import { createKafka, createLocalBroker, ensureTopics, topicNames } from '@keytrail/kafka';
import { describe, expect, it } from 'vitest';
import { createTestKafka, readTopic, tempDir, uniquePrefix, waitFor } from './kit/index.ts';

const codec = createEventCodec();

describe('the emitter SDK', () => {
  it('delivers every event recorded while the broker was down for 10 seconds, none twice', async () => {
    const broker = createLocalBroker({ dataDir: tempDir('emitter-outage') });
    await broker.start();
    const prefix = uniquePrefix('emitter-outage');
    const kafka = createKafka({ brokers: broker.brokers, clientId: 'emitter-outage' });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topicNames(prefix), { partitions: 3, replicationFactor: 1 });
    await admin.disconnect();
    // The outage lasts the 10 s plus the broker's start (20 s and more for Kafka 4.x on a slow VM)
    // at up to 5,000 records/s: a buffer that holds all of it, so what is tested is delivery, not
    // the default buffer's size (the second test covers a full buffer).
    const emitter = createEmitter({
      kafka,
      topicPrefix: prefix,
      source: { name: 'outage-test' },
      maxBuffered: 1_000_000,
    });
    try {
      await emitter.connect();
      const ids: string[] = [];
      let stopRecording = false;
      const recording = (async () => {
        for (let i = 0; !stopRecording; i++) {
          const id = `0193bbbb-0000-7000-8000-${i.toString(16).padStart(12, '0')}`;
          if (
            emitter.recordAuthDecision({
              event_id: id,
              workspace_id: 'ws_o',
              request_id: `r${i}`,
              key_id: `k${i % 9}`,
              outcome: 'ALLOWED',
            })
          )
            ids.push(id);
          if (i % 50 === 0) await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await waitFor('the emitter delivering', () => emitter.stats().sent >= 1_000);
      await broker.stop();
      const atStop = ids.length;
      await new Promise((r) => setTimeout(r, 10_000));
      const duringOutage = ids.length - atStop;
      await broker.start();
      // Recording goes on until what was recorded during the outage has been delivered.
      await waitFor(
        'the outage backlog delivered',
        () => emitter.stats().sent >= atStop + duringOutage,
        60_000,
      );
      stopRecording = true;
      await recording;
      await emitter.flush();

      expect(duringOutage).toBeGreaterThan(1_000);
      const stats = emitter.stats();
      expect(stats).toMatchObject({
        recorded: ids.length,
        sent: ids.length,
        buffered: 0,
        droppedBufferFull: 0,
        invalid: 0,
      });
      const messages = await readTopic(kafka, topicNames(prefix).authDecisions, ids.length);
      const seen = messages.map((m) => (codec.decode(m.value!).event as { event_id: string }).event_id);
      expect(seen.length).toBe(ids.length);
      expect(new Set(seen)).toEqual(new Set(ids));
    } finally {
      await emitter.close(5_000);
      await broker.stop();
    }
  });

  it('redacts secrets, drops invalid events without throwing, and bounds its buffer', async () => {
    const prefix = uniquePrefix('emitter');
    const { kafka, topics } = await createTestKafka(prefix);
    const warnings: string[] = [];
    const emitter = createEmitter({
      kafka,
      topicPrefix: prefix,
      maxBuffered: 50,
      onWarning: (m) => warnings.push(m),
    });
    try {
      expect(
        emitter.recordAuthDecision({
          workspace_id: 'ws_e',
          request_id: 'r1',
          outcome: 'INVALID_KEY',
          key_prefix: 'pf_live_AbCdEfGhIjKlMnOpQrSt1234',
        }),
      ).toBe(true);
      expect(emitter.recordAuthDecision({ workspace_id: '', request_id: 'r2', outcome: 'ALLOWED' })).toBe(
        true,
      ); // invalid: dropped at send
      expect(
        emitter.recordAuthDecision({
          workspace_id: 'ws_e',
          request_id: 'r3',
          outcome: 'NOT_AN_OUTCOME' as never, // outside the schema, as plain JS could send: dropped alone
          http_status: 401,
        }),
      ).toBe(true);
      expect(
        emitter.recordKeyLifecycle({
          workspace_id: 'ws_e',
          lifecycle_type: 'REVOKED',
          key_id: 'k1',
          reason: 'Bearer sk_live_0123456789abcdef0123 leaked',
        }),
      ).toBe(true);
      // 50 in memory at most: the 51st record of this burst is refused, not queued.
      let accepted = 4;
      for (let i = 0; i < 60; i++)
        if (emitter.recordAuthDecision({ workspace_id: 'ws_e', request_id: `b${i}`, outcome: 'ALLOWED' }))
          accepted++;
      expect(accepted).toBe(50);
      await emitter.flush();
      const stats = emitter.stats();
      expect(stats.droppedBufferFull).toBe(14);
      expect(stats.invalid).toBe(2);
      expect(stats.sent + stats.invalid).toBe(50);
      expect(stats.secretsRedacted).toBe(2);
      const decisions = await readTopic(kafka, topics.authDecisions, stats.sent - 1);
      const first = codec.decode(
        decisions.find(
          (m) =>
            codec.decode(m.value!).event.workspace_id === 'ws_e' &&
            (codec.decode(m.value!).event as { request_id: string }).request_id === 'r1',
        )!.value!,
      );
      expect((first.event as { key_prefix: string }).key_prefix).toBe('pf_live_AbCd…');
      const [revoked] = await readTopic(kafka, topics.keyLifecycle, 1);
      expect(JSON.stringify(codec.decode(revoked!.value!).event)).not.toContain('0123456789abcdef');
      expect(warnings.some((w) => w.includes('invalid'))).toBe(true);
    } finally {
      await emitter.close();
    }
  });
});
