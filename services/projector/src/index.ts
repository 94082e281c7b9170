export * from './metrics.ts';
export * from './projector.ts';
export * from './sink/deadLetter.ts';
export * from './sink/decode.ts';
export * from './sink/plan.ts';
