import { Module } from '@nestjs/common';
import { OtpEngine } from './otp-engine';
import { CodeGenerator, RandomCodeGenerator } from './code-generator';
import { OtpRetentionJob } from './otp-retention.job';
import { OtpLimits } from './otp-limits';

/** The OTP challenge engine. */
@Module({
  providers: [
    OtpEngine,
    OtpRetentionJob,
    OtpLimits,
    { provide: CodeGenerator, useClass: RandomCodeGenerator },
  ],
  exports: [OtpEngine, OtpRetentionJob, OtpLimits],
})
export class OtpModule {}
