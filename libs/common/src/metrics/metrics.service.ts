import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The service's Prometheus metrics, one registry per app instance. Labels never carry phone
 * numbers, user ids or other unbounded values: routes are templates, statuses and results are
 * small fixed sets.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly messages = new Counter({
    name: 'otp_messages_total',
    help: 'Delivery outcomes of messages by channel and status (sent, retry, failed, expired)',
    labelNames: ['channel', 'status'] as const,
    registers: [this.registry],
  });

  readonly fallbacks = new Counter({
    name: 'otp_fallbacks_total',
    help: 'Codes sent again on the next channel of NOTIFY_FALLBACK, by the channel that failed and the next one',
    labelNames: ['from', 'to'] as const,
    registers: [this.registry],
  });

  readonly receipts = new Counter({
    name: 'otp_delivery_receipts_total',
    help: "Providers' delivery receipts recorded, by channel and status",
    labelNames: ['channel', 'status'] as const,
    registers: [this.registry],
  });

  readonly verifications = new Counter({
    name: 'otp_verifications_total',
    help: 'Verify outcomes (linked, repeat, signed_in, invalid_otp, expired, locked, not_found, conflict, rate_limited)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly links = new Counter({
    name: 'links_total',
    help: 'Link attempts by result (linked, account_already_linked, phone_already_linked)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly providerLatency = new Histogram({
    name: 'otp_provider_request_duration_seconds',
    help: 'Time the delivery provider took to accept or refuse a message, by driver and outcome',
    labelNames: ['driver', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }

  /**
   * Gauges of one label, read when Prometheus scrapes, all from one `collect` (one query serves
   * every gauge of a scrape). A label that is gone from the answer is gone from the gauges.
   */
  labelledGauges<M extends string>(
    label: string,
    helps: Record<M, string>,
    collect: () => Promise<Array<{ label: string } & Record<NoInfer<M>, number>>>,
  ): void {
    let current: Promise<Array<{ label: string } & Record<M, number>>> | undefined;
    const rows = () => {
      current ??= collect().finally(() => setImmediate(() => (current = undefined)));
      return current;
    };
    for (const name of Object.keys(helps) as M[]) {
      new Gauge({
        name,
        help: helps[name],
        labelNames: [label],
        registers: [this.registry],
        async collect() {
          const answer = await rows();
          this.reset();
          for (const row of answer) this.set({ [label]: row.label }, row[name]);
        },
      });
    }
  }

  /** A gauge whose value is read when Prometheus scrapes (e.g. from the database). */
  gauge(name: string, help: string, collect: () => Promise<number> | number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await collect());
      },
    });
  }
}
