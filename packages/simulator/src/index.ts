export * from './random.ts';
export * from './traffic.ts';
