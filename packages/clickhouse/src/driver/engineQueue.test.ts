import { describe, expect, it } from 'vitest';
import { createEngineQueue } from './engineQueue.ts';

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createEngineQueue', () => {
  it('runs one call at a time, and queued reads before queued writes', async () => {
    const queue = createEngineQueue(10_000);
    const order: string[] = [];
    let running = 0;
    const job = (name: string) => async () => {
      running++;
      expect(running).toBe(1);
      await tick(5);
      order.push(name);
      running--;
      return name;
    };
    const all = [
      queue.run('write', job('w1')), // starts at once: the engine was idle
      queue.run('write', job('w2')),
      queue.run('read', job('r1')),
      queue.run('write', job('w3')),
      queue.run('read', job('r2')),
    ];
    expect(queue.waiting()).toEqual({ read: 2, write: 2 });
    expect(await Promise.all(all)).toEqual(['w1', 'w2', 'r1', 'w3', 'r2']);
    expect(order).toEqual(['w1', 'r1', 'r2', 'w2', 'w3']);
  });

  it('lets a write go first once it has waited its limit, so reads cannot starve the writer', async () => {
    const queue = createEngineQueue(20);
    const order: string[] = [];
    const job = (name: string, ms: number) => async () => {
      await tick(ms);
      order.push(name);
    };
    const first = queue.run('read', job('r0', 30));
    const write = queue.run('write', job('w', 0));
    const reads = [1, 2, 3].map((n) => queue.run('read', job(`r${n}`, 1)));
    await Promise.all([first, write, ...reads]);
    // r0 ran 30 ms, longer than the write's limit: the write goes before the reads queued after it.
    expect(order).toEqual(['r0', 'w', 'r1', 'r2', 'r3']);
  });

  it('passes each call its own result or failure and keeps going after a failure', async () => {
    const queue = createEngineQueue();
    const failed = queue.run('read', async () => {
      throw new Error('boom');
    });
    const thrownSync = queue.run('write', () => {
      throw new Error('sync');
    });
    const ok = queue.run('read', async () => 42);
    await expect(failed).rejects.toThrow('boom');
    await expect(thrownSync).rejects.toThrow('sync');
    expect(await ok).toBe(42);
  });
});
