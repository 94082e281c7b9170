export {
  default as keytrailGatewayPlugin,
  type KeytrailGatewayOptions,
  setCost,
  type VerifyResult,
} from './plugin.ts';
