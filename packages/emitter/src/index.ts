export * from './emitter.ts';
