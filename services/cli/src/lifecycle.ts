import type { Logger } from '@keytrail/core';

/** Something started that must be stopped; stopped in reverse order of start. */
export interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

/**
 * Collects what a command started and stops it all, newest first, on SIGINT/SIGTERM or when
 * the command ends. A second signal during shutdown exits at once.
 */
export function createLifecycle(logger: Logger) {
  const started: Stoppable[] = [];
  let stopping: Promise<void> | undefined;

  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      for (const part of started.reverse()) {
        try {
          await part.stop();
        } catch (err) {
          logger.warn({ err }, `stopping ${part.name} failed`);
        }
      }
    })();
    return stopping;
  };

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn('second signal: exiting now');
      process.exit(130);
    }
    signalled = true;
    logger.info(`${signal}: shutting down`);
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  return {
    add(part: Stoppable) {
      started.push(part);
    },
    stopAll,
    /**
     * For commands that serve until stopped: never resolves. The signal handler above stops
     * everything and exits the process itself.
     */
    untilSignal(): Promise<void> {
      return new Promise(() => {});
    },
  };
}
export type Lifecycle = ReturnType<typeof createLifecycle>;
