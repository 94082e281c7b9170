export * from './client.ts';
export * from './compression.ts';
export * from './groupMembers.ts';
export * from './localBroker/index.ts';
export * from './producerThread/index.ts';
export * from './schemaRegistry.ts';
export * from './topics.ts';
export * from './wholeTopic.ts';
