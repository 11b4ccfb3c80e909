export { OtpModule } from './otp.module';
export { OtpEngine, OTP_FIND_ARGS } from './otp-engine';
export type {
  ChallengeState,
  CheckedChallenge,
  LimitScope,
  ClientLimits,
  CodeDraft,
  FoundChallengeRow,
  IssuedCode,
  IssueRequest,
  IssueStep,
  OtpFindArgs,
  OtpIssueArgs,
  OtpIssueRow,
  OtpMarkArgs,
  OtpPolicy,
  OtpWrongCodeArgs,
  OtpWrongCodeRow,
} from './otp-engine';
export { CodeGenerator, AUTH_CODE_LENGTH } from './code-generator';
export { CodeHasher } from './code-hasher';
export { OTP_FUNCTIONS } from './otp-functions';
export { OtpLimits } from './otp-limits';
export type { ClearedTarget, PumpingScope } from './otp-limits';
export { OtpChallenge } from './entities/otp-challenge.entity';
export type { ChallengeStatus } from './entities/otp-challenge.entity';
export { OtpSend } from './entities/otp-send.entity';
export { OtpVerifyFailure } from './entities/otp-verify-failure.entity';
export { OtpRetentionJob, SEND_RETENTION_MS, CHALLENGE_RETENTION_MS } from './otp-retention.job';
export { OtpApiCodes } from './otp-api-codes';
export type { ApiLimits, ApiPasswordDraft, OtpApiIssueArgs, OtpApiIssueRow } from './otp-api-codes';
export { OtpApiCode } from './entities/otp-api-code.entity';
export { OtpApiLimit } from './entities/otp-api-limit.entity';
export type { OtpApiRate } from './entities/otp-api-limit.entity';
export { OtpApiGuess } from './entities/otp-api-guess.entity';
