/**
 * bench/queryLoad — the gateways of bench/query's load phase, in a process of their own: sends
 * --rate auth decisions per second to --topic until SIGTERM, then prints {"sent": N} on stdout.
 * In a deployment the producers are other machines; in the API's process their encoding and
 * sending would hold the event loop the measured requests need.
 *   node --import tsx bench/queryLoad.ts --brokers HOST:PORT --topic T --workspace WS --rate 20000
 */
import { parseArgs } from 'node:util';
import { type AuthDecision, authDecisionKey, createEventCodec, eventFromJson } from '@keytrail/events';
import { createKafka } from '@keytrail/kafka';
import { generateTraffic } from '@keytrail/simulator';
import { Partitioners } from 'kafkajs';

const { values } = parseArgs({
  options: {
    brokers: { type: 'string' },
    topic: { type: 'string' },
    workspace: { type: 'string' },
    rate: { type: 'string', default: '20000' },
  },
});
if (!values.brokers || !values.topic || !values.workspace)
  throw new Error('usage: queryLoad --brokers HOST:PORT --topic TOPIC --workspace WS [--rate N]');
const rate = Number(values.rate);
const codec = createEventCodec();
// Templates from the simulator; each send gives them fresh ids and times.
const templates: AuthDecision[] = [];
for (const json of generateTraffic({ seed: 11, startMs: Date.now(), decisions: 20_000 })) {
  if (json.type !== 'auth_decision') continue;
  const parsed = eventFromJson(json, codec, Date.now() + 86_400_000);
  if (parsed.ok) templates.push({ ...(parsed.value.event as AuthDecision), workspace_id: values.workspace });
}
const kafka = createKafka({ brokers: values.brokers.split(','), clientId: 'bench-query-load' });
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
let sent = 0;
let producing = true;
process.on('SIGTERM', () => (producing = false));
const tickMs = 50;
const perTick = Math.ceil((rate * tickMs) / 1000);
while (producing) {
  const started = Date.now();
  const messages = [];
  for (let k = 0; k < perTick; k++) {
    const template = templates[(sent + k) % templates.length]!;
    const event = { ...template, event_id: crypto.randomUUID(), occurred_at: Date.now() };
    messages.push({ key: authDecisionKey(event), value: codec.encode('auth_decision', event) });
  }
  await producer.send({ topic: values.topic, messages });
  sent += perTick;
  await new Promise((r) => setTimeout(r, Math.max(0, tickMs - (Date.now() - started))));
}
await producer.disconnect();
process.stdout.write(`${JSON.stringify({ sent })}\n`);
