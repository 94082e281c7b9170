export * from './app.ts';
export * from './auth.ts';
export * from './errors.ts';
export * from './readiness.ts';
