import { Module } from '@nestjs/common';
import { OtpModule } from '@app/otp';
import { NotificationsModule } from '@app/notifications';
import { PartnersModule } from '@app/partners';
import { SessionsModule } from '@app/sessions';
import { FlowDefinitions } from './flow-definitions';
import { FlowRepository } from './flow.repository';
import { FlowRetentionJob } from './flow-retention.job';
import { FlowsController } from './flows.controller';
import { Realms } from './realms';
import { SignInFlows } from './sign-in-flows';

/**
 * The websites' front door (FLOWS.md): sign-in flows that end with a session cookie, and that
 * session's own endpoints.
 */
@Module({
  imports: [OtpModule, NotificationsModule, PartnersModule, SessionsModule],
  controllers: [FlowsController],
  providers: [FlowDefinitions, FlowRepository, FlowRetentionJob, Realms, SignInFlows],
  exports: [FlowRetentionJob],
})
export class FlowsModule {}
