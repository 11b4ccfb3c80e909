import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MetricsService } from '@app/common';

/** What node-postgres' pool (and the embedded pool) report about their connections. */
interface PoolCounts {
  totalCount?: number;
  idleCount?: number;
  waitingCount?: number;
}

/** Connection pool usage as gauges, read at scrape time. */
@Injectable()
export class DatabaseMetrics {
  constructor(dataSource: DataSource, metrics: MetricsService) {
    const pool = () => (dataSource.driver as unknown as { master?: PoolCounts }).master ?? {};
    metrics.gauge('db_pool_connections', 'Open database connections', () => pool().totalCount ?? 0);
    metrics.gauge(
      'db_pool_idle_connections',
      'Idle database connections',
      () => pool().idleCount ?? 0,
    );
    metrics.gauge(
      'db_pool_waiting_requests',
      'Queries waiting for a free connection',
      () => pool().waitingCount ?? 0,
    );
  }
}
