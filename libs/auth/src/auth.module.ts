import { Module } from '@nestjs/common';
import { OtpModule } from '@app/otp';
import { UsersModule } from '@app/users';
import { NotificationsModule } from '@app/notifications';
import { PartnersModule } from '@app/partners';
import { PhoneLinkFlow } from './phone-link.flow';
import { PartnerJwtGuard } from './http/partner-jwt.guard';
import { OtpConfigController, OtpController } from './http/otp.controller';
import { PartnerLinksController } from './http/s2s.controller';
import { PartnerSecretGuard } from './http/partner-secret.guard';

/**
 * Partner authentication (frontend JWTs, backend client secrets) and the phone-link flow with
 * its HTTP APIs: the frontend's and the server-to-server one.
 */
@Module({
  imports: [OtpModule, UsersModule, NotificationsModule, PartnersModule],
  controllers: [OtpController, OtpConfigController, PartnerLinksController],
  providers: [PhoneLinkFlow, PartnerJwtGuard, PartnerSecretGuard],
})
export class AuthModule {}
