export * from './codec.ts';
export * from './crc64.ts';
export * from './fromJson.ts';
export * from './partitionKeys.ts';
export * from './schemas.ts';
export * from './secrets.ts';
export * from './types.ts';
export * from './validate.ts';
