import { Module } from '@nestjs/common';
import { PartnersModule } from '@app/partners';
import { OtpModule } from '@app/otp';
import { NotificationsModule } from '@app/notifications';
import { BasicAuthGuard } from './http/basic-auth.guard';
import { OtpApiController, TelegramWebhookController } from './http/otp-api.controller';
import { OtpApiService } from './otp-api.service';

/**
 * The OTP API's front door (OTP-API.md): partner backends send and check passwords with HTTP
 * Basic credentials; the Telegram bot's webhook.
 */
@Module({
  imports: [PartnersModule, OtpModule, NotificationsModule],
  controllers: [OtpApiController, TelegramWebhookController],
  providers: [OtpApiService, BasicAuthGuard],
})
export class OtpApiModule {}
