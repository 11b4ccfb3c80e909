import { Module } from '@nestjs/common';
import { OtpEngine } from './otp-engine';
import { CodeGenerator, RandomCodeGenerator } from './code-generator';
import { OtpRetentionJob } from './otp-retention.job';

/** The OTP challenge engine. */
@Module({
  providers: [
    OtpEngine,
    OtpRetentionJob,
    { provide: CodeGenerator, useClass: RandomCodeGenerator },
  ],
  exports: [OtpEngine, OtpRetentionJob],
})
export class OtpModule {}
