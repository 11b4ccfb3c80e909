import { Module } from '@nestjs/common';
import { OtpModule } from '@app/otp';
import { UsersModule } from '@app/users';
import { NotificationsModule } from '@app/notifications';
import { PhoneLinkFlow } from './phone-link.flow';
import { PhoneLinkRepository } from './phone-link.repository';

/** The phone-link use case: register, resend and verify a partner user's phone, and its link. */
@Module({
  imports: [OtpModule, UsersModule, NotificationsModule],
  providers: [PhoneLinkFlow, PhoneLinkRepository],
  exports: [PhoneLinkFlow],
})
export class PhoneLinkModule {}
