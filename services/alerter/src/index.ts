export * from './alerter.ts';
export * from './alertSink.ts';
export * from './deliveries.ts';
export * from './metrics.ts';
export * from './replayMarks.ts';
export * from './rules.ts';
export * from './service.ts';
