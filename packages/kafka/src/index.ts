export * from './client.ts';
export * from './localBroker/index.ts';
export * from './topics.ts';
