export * from './alertEvents.ts';
export * from './detector.ts';
export * from './episodes.ts';
export * from './periods.ts';
export * from './rules.ts';
export * from './types.ts';
export * from './watermark.ts';
export * from './windows.ts';
