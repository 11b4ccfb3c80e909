import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from './clock/clock';
import { MetricsService } from './metrics/metrics.service';
import { MetricsController } from './metrics/metrics.controller';

/** Process-wide helpers: the clock (tests hand in one they can move) and the metrics registry. */
@Global()
@Module({})
export class CommonModule {
  static forRoot(clock: Clock = new SystemClock()): DynamicModule {
    return {
      module: CommonModule,
      controllers: [MetricsController],
      providers: [{ provide: Clock, useValue: clock }, MetricsService],
      exports: [Clock, MetricsService],
    };
  }
}
