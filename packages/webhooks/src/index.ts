export * from './addresses.ts';
export * from './dispatcher.ts';
export * from './schedule.ts';
export * from './signing.ts';
