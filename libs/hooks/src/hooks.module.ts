import { Module } from '@nestjs/common';
import { NotificationsModule } from '@app/notifications';
import { TwilioStatusController } from './twilio-status.controller';

/** The providers' front door: their callbacks (Twilio's delivery receipts). */
@Module({ imports: [NotificationsModule], controllers: [TwilioStatusController] })
export class HooksModule {}
