export * from './driver/index.ts';
export * from './migrate.ts';
export * from './tables/authDecisions.ts';
export * from './tables/keyLifecycle.ts';
export * from './time.ts';
