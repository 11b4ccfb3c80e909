import { Module } from '@nestjs/common';
import { OtpModule } from '@app/otp';
import { UsersModule } from '@app/users';
import { NotificationsModule } from '@app/notifications';
import { PhoneLinkFlow } from './phone-link.flow';
import { PartnerJwtGuard } from './http/partner-jwt.guard';
import { OtpConfigController, OtpController } from './http/otp.controller';

/** Partner JWT authentication and the phone-link flow with its HTTP API. */
@Module({
  imports: [OtpModule, UsersModule, NotificationsModule],
  controllers: [OtpController, OtpConfigController],
  providers: [PhoneLinkFlow, PartnerJwtGuard],
})
export class AuthModule {}
