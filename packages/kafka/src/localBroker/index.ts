export * from './broker.ts';
export * from './jars.ts';
export * from './ports.ts';
