import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeytrailError } from './errors.ts';

/** What the lock file says about the process holding a data directory. */
export interface DataDirOwner {
  pid: number;
  command: string;
  startedAt: string;
  url?: string;
}

export interface DataDirLock {
  readonly path: string;
  /** Adds what others should know about the holder (e.g. its URL, once listening). */
  update(fields: Partial<DataDirOwner>): void;
  /** Removes the lock file if this process still holds it. */
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): DataDirOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as DataDirOwner;
    return Number.isInteger(owner.pid) && owner.pid > 0 ? owner : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the data directory for this process: the embedded database and the managed broker in it
 * belong to one process. A second process is refused with who holds it; a lock left by a process
 * that is gone (SIGKILL, power loss) is taken over. Created with O_EXCL, so two starts racing
 * for a free directory cannot both win.
 */
export function lockDataDir(dataDir: string, command: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'keytrail.lock');
  let owner: DataDirOwner = { pid: process.pid, command, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(owner), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      const holder = readOwner(path);
      if (holder && holder.pid !== process.pid && alive(holder.pid)) {
        throw new KeytrailError(
          'UNAVAILABLE',
          `${dataDir} is in use by keytrail ${holder.command} (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}, since ${holder.startedAt}). Stop it first, or set KEYTRAIL_DATA_DIR to another folder.`,
        );
      }
      rmSync(path, { force: true }); // left by a process that is gone
    }
  }
  return {
    path,
    update(fields) {
      owner = { ...owner, ...fields };
      if (readOwner(path)?.pid === process.pid) writeFileSync(path, JSON.stringify(owner));
    },
    release() {
      if (readOwner(path)?.pid === process.pid) rmSync(path, { force: true });
    },
  };
}
