import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { NotificationsModule } from '@app/notifications';
import { OtpModule } from '@app/otp';
import { PartnersModule } from '@app/partners';
import { SessionsModule } from '@app/sessions';
import { AppAuthFlow } from './app-auth.flow';
import { AppAuthRepository } from './app-auth.repository';
import { AppAuthController } from './http/app-auth.controller';
import { AppJwtGuard, AppJwtStrategy } from './http/app-jwt.strategy';
import { AppKeyGuard } from './http/app-key.guard';

/** Apps sign their users in with a phone code (APP-AUTH.md): the Okto-compatible API. */
@Module({
  imports: [PassportModule, NotificationsModule, OtpModule, PartnersModule, SessionsModule],
  controllers: [AppAuthController],
  providers: [AppAuthFlow, AppAuthRepository, AppKeyGuard, AppJwtStrategy, AppJwtGuard],
})
export class AppAuthModule {}
