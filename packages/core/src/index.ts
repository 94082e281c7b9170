export * from './config.ts';
export * from './dataDirLock.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './logger.ts';
export * from './retry.ts';
