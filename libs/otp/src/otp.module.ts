import { Module } from '@nestjs/common';
import { ChallengeService } from './challenge.service';
import { CodeGenerator, RandomCodeGenerator } from './code-generator';
import { OtpRetentionJob } from './otp-retention.job';

/** The OTP challenge engine. */
@Module({
  providers: [
    ChallengeService,
    OtpRetentionJob,
    { provide: CodeGenerator, useClass: RandomCodeGenerator },
  ],
  exports: [ChallengeService, OtpRetentionJob],
})
export class OtpModule {}
