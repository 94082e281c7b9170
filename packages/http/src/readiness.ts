/** A named dependency check for /readyz: resolves true when the dependency is usable. */
export type ReadinessCheck = () => Promise<boolean>;

/**
 * Bounds a readiness check: it answers within `timeoutMs` whatever the dependency does (false
 * when it has not answered by then), and at most one call of the check runs at a time, so
 * probes arriving every second never pile up connections behind a dead dependency.
 */
export function boundedCheck(check: ReadinessCheck, timeoutMs: number): ReadinessCheck {
  let running: Promise<boolean> | undefined;
  return () => {
    running ??= check()
      .catch(() => false)
      .finally(() => {
        running = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    return Promise.race([running, timedOut]).finally(() => clearTimeout(timer));
  };
}

/** A check that, once it has passed, stays passed (e.g. migrations applied by this version). */
export function onceTrue(check: ReadinessCheck): ReadinessCheck {
  let passed = false;
  return async () => {
    if (!passed) passed = await check();
    return passed;
  };
}
