export * from './tokenService.ts';
