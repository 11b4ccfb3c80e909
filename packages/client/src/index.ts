export { createOtpLinkClient } from './client';
export type {
  CallOptions,
  Channel,
  LinkedNumber,
  OtpConfig,
  OtpConfigQuery,
  OtpLinkClient,
  OtpLinkClientOptions,
  OtpSent,
  RegisterRequest,
  ResendRequest,
  TokenProvider,
  Unlinked,
  Verified,
  VerifyRequest,
} from './client';
export { OtpLinkError, errorFromResponse, parseRetryAfter } from './errors';
export type { OtpLinkErrorBody, OtpLinkErrorCode, OtpLinkErrorDetail } from './errors';
export { createResendTimer } from './resend-timer';
export type { ResendTimer, ResendTimerOptions, ResendTimerState } from './resend-timer';
export type { components, operations, paths } from './schema';
