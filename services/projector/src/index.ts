export * from './metrics.ts';
export * from './projector.ts';
export * from './replay.ts';
export * from './sink/deadLetter.ts';
export * from './sink/decode.ts';
export * from './sink/plan.ts';
export * from './sink/sinks.ts';
