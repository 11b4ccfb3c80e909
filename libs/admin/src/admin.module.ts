import { Module } from '@nestjs/common';
import { PartnersModule } from '@app/partners';
import { UsersModule } from '@app/users';
import { OtpModule } from '@app/otp';
import { SessionsModule } from '@app/sessions';
import { NotificationsModule } from '@app/notifications';
import { AdminService } from './admin.service';
import { AdminKeyGuard } from './http/admin-key.guard';
import { AdminClientsController, AdminLinksController } from './http/admin.controller';
import { AdminAppKeysController, AdminSessionsController } from './http/admin-app.controller';

/** Operators' tools: the AdminService behind the CLI and the /admin API. */
@Module({
  imports: [PartnersModule, UsersModule, OtpModule, SessionsModule, NotificationsModule],
  controllers: [
    AdminClientsController,
    AdminLinksController,
    AdminAppKeysController,
    AdminSessionsController,
  ],
  providers: [AdminService, AdminKeyGuard],
  exports: [AdminService],
})
export class AdminModule {}
