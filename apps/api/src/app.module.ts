import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig, ConfigModule } from '@app/config';
import {
  AllExceptionsFilter,
  Clock,
  CommonModule,
  FeThrottlerGuard,
  MemoryThrottlerStorage,
  RedisThrottlerStorage,
} from '@app/common';
import { DatabaseModule } from '@app/database';
import { AuditModule } from '@app/audit';
import { NotificationsModule } from '@app/notifications';
import { UsersModule } from '@app/users';
import { OtpModule } from '@app/otp';
import { AuthModule } from '@app/auth';
import { AdminModule, EmbeddedCliChannel } from '@app/admin';
import { HooksModule } from '@app/hooks';
import { OtpApiModule } from '@app/otp-api';
import { FlowsModule } from '@app/flows';
import { AppAuthModule } from '@app/app-auth';
import { SCHEMA } from '@app/migrations';

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
        AdminModule,
        HooksModule,
        OtpApiModule,
        FlowsModule,
        AppAuthModule,
        ThrottlerModule.forRoot({
          throttlers: [
            // A sliding minute, no extra penalty block: requests flow again as old ones age out.
            {
              name: 'default',
              ttl: 60_000,
              limit: config.http.rateLimitPerMinute,
              blockDuration: 0,
            },
          ],
          // Shared by every instance when REDIS_URL is set; in-process otherwise.
          storage: config.redisUrl
            ? RedisThrottlerStorage.fromUrl(config.redisUrl)
            : new MemoryThrottlerStorage(),
        }),
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_GUARD, useClass: FeThrottlerGuard },
        EmbeddedCliChannel,
      ],
    };
  }
}
