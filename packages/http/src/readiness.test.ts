import { describe, expect, it } from 'vitest';
import { boundedCheck, onceTrue } from './readiness.ts';

describe('boundedCheck', () => {
  it('passes a quick answer through', async () => {
    expect(await boundedCheck(async () => true, 100)()).toBe(true);
    expect(await boundedCheck(async () => false, 100)()).toBe(false);
  });

  it('answers false within the bound when the check hangs, and false on a throw', async () => {
    const started = Date.now();
    expect(await boundedCheck(() => new Promise<boolean>(() => {}), 50)()).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
    expect(await boundedCheck(async () => Promise.reject(new Error('down')), 50)()).toBe(false);
  });

  it('runs one check at a time: probes during a slow check share it', async () => {
    let calls = 0;
    let finish: (ok: boolean) => void = () => {};
    const slow = boundedCheck(() => {
      calls++;
      return new Promise<boolean>((resolve) => (finish = resolve));
    }, 20);
    expect(await Promise.all([slow(), slow(), slow()])).toEqual([false, false, false]);
    expect(calls).toBe(1);
    finish(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(await slow()).toBe(false); // a fresh call starts and hangs again
    expect(calls).toBe(2);
  });
});

describe('onceTrue', () => {
  it('checks until the first pass, then never again', async () => {
    const answers = [false, true, false];
    let calls = 0;
    const check = onceTrue(async () => answers[calls++]!);
    expect(await check()).toBe(false);
    expect(await check()).toBe(true);
    expect(await check()).toBe(true);
    expect(calls).toBe(2);
  });
});
