export * from './addresses.ts';
export * from './dispatcher.ts';
export * from './messages.ts';
export * from './schedule.ts';
export * from './sealing.ts';
export * from './send.ts';
export * from './signing.ts';
