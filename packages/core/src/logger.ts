import { type Logger as PinoLogger, pino } from 'pino';

export type Logger = PinoLogger;

/** One JSON logger for every process; `KEYTRAIL_LOG_LEVEL` (default info) picks the level. */
export function createLogger(name: string, level = process.env.KEYTRAIL_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    redact: { paths: ['req.headers.authorization', '*.token', '*.secret'], censor: '[redacted]' },
  });
}
