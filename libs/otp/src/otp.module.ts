import { Module } from '@nestjs/common';
import { OtpEngine } from './otp-engine';
import { CodeGenerator, RandomCodeGenerator } from './code-generator';
import { OtpRetentionJob } from './otp-retention.job';
import { OtpLimits } from './otp-limits';
import { OtpApiCodes } from './otp-api-codes';

/** The OTP challenge engine. */
@Module({
  providers: [
    OtpEngine,
    OtpRetentionJob,
    OtpLimits,
    OtpApiCodes,
    { provide: CodeGenerator, useClass: RandomCodeGenerator },
  ],
  exports: [OtpEngine, OtpRetentionJob, OtpLimits, OtpApiCodes],
})
export class OtpModule {}
