import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import pretty from 'pino-pretty';

export type Logger = PinoLogger;

/**
 * JSON when the output is piped or collected (services, CI, log shippers); readable lines on a
 * terminal. `KEYTRAIL_LOG_FORMAT=json|pretty` overrides the guess.
 */
function destination(): DestinationStream | undefined {
  const format = process.env.KEYTRAIL_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty') return undefined;
  // Synchronous, in this process: no worker thread, and nothing is lost on process.exit().
  return pretty({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

/** One logger for every process; `KEYTRAIL_LOG_LEVEL` (default info) picks the level. */
export function createLogger(name: string, level = process.env.KEYTRAIL_LOG_LEVEL ?? 'info'): Logger {
  const options = {
    name,
    level,
    redact: { paths: ['req.headers.authorization', '*.token', '*.secret'], censor: '[redacted]' },
  };
  const stream = destination();
  return stream ? pino(options, stream) : pino(options);
}
