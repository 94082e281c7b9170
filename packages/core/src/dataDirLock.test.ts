import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockDataDir } from './dataDirLock.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'keytrail-lock-'));

describe('lockDataDir', () => {
  it('takes a free directory, records the holder, and releases it', () => {
    const d = dir();
    const lock = lockDataDir(d, 'up');
    lock.update({ url: 'http://127.0.0.1:8080' });
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({
      pid: process.pid,
      command: 'up',
      url: 'http://127.0.0.1:8080',
    });
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });

  it('refuses a directory held by a live process, naming it', () => {
    const d = dir();
    // The parent of this test process is alive for as long as the test runs.
    writeFileSync(
      join(d, 'keytrail.lock'),
      JSON.stringify({ pid: process.ppid, command: 'up', startedAt: 'then', url: 'http://127.0.0.1:9' }),
    );
    expect(() => lockDataDir(d, 'up')).toThrow(
      new RegExp(`in use by keytrail up \\(pid ${process.ppid}, http://127.0.0.1:9`),
    );
  });

  it('takes over a lock left by a process that is gone', () => {
    const d = dir();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(join(d, 'keytrail.lock'), JSON.stringify({ pid: Number(gone.stdout), command: 'up' }));
    const lock = lockDataDir(d, 'replay');
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });
});
