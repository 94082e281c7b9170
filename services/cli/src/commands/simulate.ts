import { generateTraffic, type JsonEvent } from '@keytrail/simulator';

export interface SimulateOptions {
  url: string;
  token: string;
  seed: number;
  decisions: number;
  probeAttack: boolean;
  /** Events per POST. */
  batchSize?: number;
  startMs?: number;
  onProgress?: (sent: number, total: number) => void;
}

export interface SimulateResult {
  accepted: number;
  rejected: number;
  requests: number;
}

async function post(
  url: string,
  token: string,
  events: JsonEvent[],
): Promise<{ accepted: number; rejected: unknown[] }> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    if (response.status === 202) return (await response.json()) as { accepted: number; rejected: unknown[] };
    // 503: Kafka did not acknowledge; nothing was accepted, so the same batch is safe to resend (event ids dedup).
    if ((response.status === 503 || response.status === 429) && attempt < 10) {
      await new Promise((r) => setTimeout(r, 250 * attempt));
      continue;
    }
    throw new Error(`POST /v1/events answered ${response.status}: ${await response.text()}`);
  }
}

/** Sends seeded traffic (DESIGN.md `simulate`) to a running Keytrail through POST /v1/events. */
export async function simulate(options: SimulateOptions): Promise<SimulateResult> {
  const batchSize = options.batchSize ?? 500;
  const result: SimulateResult = { accepted: 0, rejected: 0, requests: 0 };
  let batch: JsonEvent[] = [];
  let sent = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const reply = await post(options.url, options.token, batch);
    result.accepted += reply.accepted;
    result.rejected += reply.rejected.length;
    result.requests++;
    sent += batch.length;
    options.onProgress?.(sent, options.decisions);
    batch = [];
  };
  for (const event of generateTraffic({
    seed: options.seed,
    startMs: options.startMs ?? Date.now() - 60 * 60 * 1000,
    decisions: options.decisions,
    probeAttack: options.probeAttack,
  })) {
    batch.push(event);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return result;
}
