import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AppConfig, ConfigModule } from '@app/config';
import { AllExceptionsFilter, Clock, CommonModule } from '@app/common';
import { DatabaseModule } from '@app/database';
import { AuditModule } from '@app/audit';
import { NotificationsModule } from '@app/notifications';
import { UsersModule } from '@app/users';
import { OtpModule } from '@app/otp';
import { AuthModule } from '@app/auth';
import { SCHEMA } from './entities';

/** The composition root: wires the libs together and nothing else. */
@Module({})
export class AppModule {
  /** `clock` is for tests that move time; production uses the system clock. */
  static forRoot(config: AppConfig, clock?: Clock): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        CommonModule.forRoot(clock),
        DatabaseModule.forRoot(SCHEMA),
        AuditModule,
        NotificationsModule,
        UsersModule,
        OtpModule,
        AuthModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
