export { OtpModule } from './otp.module';
export { ChallengeService } from './challenge.service';
export type {
  AuditContext,
  ChallengeOwner,
  ChallengeView,
  ClientLimits,
  CodeDraft,
  DraftMessage,
  IssuedCode,
  IssueRequest,
  VerifyState,
  WrongCodeOutcome,
} from './challenge.service';
export { CodeGenerator, AUTH_CODE_LENGTH } from './code-generator';
export {
  otpMessageText,
  messageTemplateProblem,
  MESSAGE_TEMPLATE_PLACEHOLDERS,
  MESSAGE_TEMPLATE_MAX_LENGTH,
} from './otp-message';
export type { MessageParts } from './otp-message';
export { OtpChallenge } from './entities/otp-challenge.entity';
export { OtpSend } from './entities/otp-send.entity';
export { OtpVerifyFailure } from './entities/otp-verify-failure.entity';
export { OtpRetentionJob, SEND_RETENTION_MS, CHALLENGE_RETENTION_MS } from './otp-retention.job';
