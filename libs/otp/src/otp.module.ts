import { Module } from '@nestjs/common';
import { ChallengeService } from './challenge.service';
import { CodeGenerator, RandomCodeGenerator } from './code-generator';

/** The OTP challenge engine. */
@Module({
  providers: [ChallengeService, { provide: CodeGenerator, useClass: RandomCodeGenerator }],
  exports: [ChallengeService],
})
export class OtpModule {}
