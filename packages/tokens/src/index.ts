export * from './loginCodes.ts';
export * from './tokenService.ts';
