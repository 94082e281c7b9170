import { createEventCodec, eventFromJson } from '@keytrail/events';
import { generateTraffic } from '@keytrail/simulator';
import { describe, expect, it } from 'vitest';
import { createDetector } from './detector.ts';
import { DEFAULT_RULES } from './rules.ts';

// The demo's traffic (`keytrail demo`: 20,000 decisions, seed 7, the probe attack) through the
// default rules. An alert on-call would be paged for must have a cause in the traffic: the
// simulator refuses about 2 % of each key's requests, a quarter of one key's (a retry loop), and
// gives one key a small daily quota. Only those and the attack may fire.
describe('the demo traffic, through the default rules', () => {
  it('fires for the probe attack, the key in a retry loop and the key near its quota, and nothing else', () => {
    const codec = createEventCodec();
    const startMs = Date.UTC(2026, 10, 22, 12);
    const detector = createDetector({ rulesFor: () => DEFAULT_RULES, latenessMs: 2_000 });
    const fired: string[] = [];
    const feed = (input: Record<string, unknown>) => {
      const parsed = eventFromJson(input, codec, startMs);
      if (!parsed.ok)
        throw new Error(`the simulator sent an invalid event: ${JSON.stringify(parsed.errors)}`);
      const { kind, event } = parsed.value;
      if (kind === 'key_lifecycle') detector.lifecycle('p0', event);
      else detector.decision('p0', event);
      for (const { change, alert } of detector.advance())
        if (change === 'FIRED')
          fired.push(`${alert.workspace_id} ${alert.kind} ${JSON.stringify(alert.scope)}`);
      return parsed.value.event.occurred_at;
    };
    let lastAt = startMs;
    for (const input of generateTraffic({ seed: 7, startMs, decisions: 20_000, probeAttack: true }))
      lastAt = feed(input);
    // Event time moves on (another workspace's traffic), so every window and minute is judged.
    for (let at = lastAt; at <= lastAt + 6 * 60_000; at += 5_000)
      feed({
        type: 'auth_decision',
        workspace_id: 'ws_clock',
        occurred_at: at,
        request_id: `req_${at}`,
        outcome: 'ALLOWED',
      });

    expect(fired.sort()).toEqual([
      'ws_1 INVALID_KEY_SPIKE {"client_ip":"198.51.100.7"}',
      'ws_1 INVALID_KEY_SPIKE {"client_ip":"198.51.100.8"}',
      'ws_1 INVALID_KEY_SPIKE {"client_ip":"198.51.100.9"}',
      'ws_2 ERROR_RATE {"key_id":"key_2_4"}',
      'ws_3 QUOTA_THRESHOLD {"key_id":"key_3_3"}',
    ]);
  });
});
