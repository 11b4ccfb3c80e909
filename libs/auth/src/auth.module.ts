import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { PartnersModule } from '@app/partners';
import { PhoneLinkModule } from '@app/phone-link';
import { SessionsModule } from '@app/sessions';
import { PartnerJwtGuard, PartnerJwtStrategy } from './http/partner-jwt.guard';
import { OtpConfigController, OtpController } from './http/otp.controller';
import { PartnerLinksController } from './http/s2s.controller';
import { PartnerSecretGuard } from './http/partner-secret.guard';
import { JwksController } from './http/jwks.controller';

/**
 * The partners' front door: partner authentication (frontend JWTs, backend client secrets) and
 * the phone link's HTTP APIs, the frontend's and the server-to-server one; the JWKS of our tokens.
 */
@Module({
  imports: [PassportModule, PartnersModule, PhoneLinkModule, SessionsModule],
  controllers: [OtpController, OtpConfigController, PartnerLinksController, JwksController],
  providers: [PartnerJwtStrategy, PartnerJwtGuard, PartnerSecretGuard],
})
export class AuthModule {}
