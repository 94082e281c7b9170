/** Reads are queries, streams and pings; writes are commands and inserts. */
export type Lane = 'read' | 'write';

/**
 * One engine call at a time, reads first. The API's queries would otherwise wait behind every
 * insert the projector has queued; this way a query waits for at most the call that is running.
 * A write that has waited `writeWaitLimitMs` goes next even while reads keep coming, so steady
 * read traffic cannot stall the projector.
 */
export function createEngineQueue(writeWaitLimitMs = 500) {
  type Job = {
    fn: () => Promise<unknown>;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
    at: number;
  };
  const lanes: Record<Lane, Job[]> = { read: [], write: [] };
  let busy = false;
  const next = (): Job | undefined => {
    const oldestWrite = lanes.write[0];
    if (oldestWrite && (lanes.read.length === 0 || performance.now() - oldestWrite.at >= writeWaitLimitMs))
      return lanes.write.shift();
    return lanes.read.shift();
  };
  const pump = () => {
    if (busy) return;
    const job = next();
    if (!job) return;
    busy = true;
    // A job that throws synchronously still settles and frees the engine.
    Promise.resolve()
      .then(job.fn)
      .then(job.resolve, job.reject)
      .finally(() => {
        busy = false;
        pump();
      });
  };
  return {
    run<T>(lane: Lane, fn: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        lanes[lane].push({ fn, resolve: resolve as (v: unknown) => void, reject, at: performance.now() });
        pump();
      });
    },
    /** Calls waiting (not the one running), per lane. */
    waiting: () => ({ read: lanes.read.length, write: lanes.write.length }),
  };
}
