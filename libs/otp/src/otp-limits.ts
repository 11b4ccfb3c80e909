import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, OtpConfig } from '@app/config';
import { Clock, MetricsService, Target } from '@app/common';

/** The sends and wrong-code limits look back this far. */
const LIMIT_WINDOW_MS = 3_600_000;
/** A region or number block as the pumping guard sees it over its window. */
export interface PumpingScope {
  /** `region:JM` (a country, or `+881` for numbers without one) or `block:+1876555`. */
  scope: string;
  /** Sends old enough that their codes could have been verified. */
  settled: number;
  verified: number;
  /** verified ÷ settled, or null before any send settled. */
  conversion: number | null;
  /** Sends there are refused until the share recovers or an operator clears it. */
  paused: boolean;
}

/** What clearing a target's limits removed. */
export interface ClearedTarget {
  sends: number;
  failures: number;
}

interface ScopeRow {
  scope: string;
  settled: number;
  verified: number;
  paused: boolean;
}

/** Most scopes the status lists, worst first. */
const STATUS_LIMIT = 200;

/**
 * The operators' view of the engine's abuse limits: the pumping guard's regions and number
 * blocks (and clearing one), and clearing a target's hourly limits (a locked-out owner). The
 * rules are the database's (otp_conversion, otp_pumping_paused); this reads and resets them.
 */
@Injectable()
export class OtpLimits {
  private readonly otp: OtpConfig;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
    metrics: MetricsService,
  ) {
    this.otp = config.otp;
    metrics.labelledGauges(
      'country',
      {
        otp_country_sends_settled:
          'Settled sends per country in the pumping guard window (last hour)',
        otp_country_verified: 'Codes verified per country in the pumping guard window (last hour)',
        otp_country_conversion_ratio: 'Verified share of settled sends per country (last hour)',
      },
      async () =>
        (await this.pumpingStatus('region:'))
          .filter((row) => row.settled > 0 || row.verified > 0)
          .map((row) => ({
            label: row.scope.slice('region:'.length),
            otp_country_sends_settled: row.settled,
            otp_country_verified: row.verified,
            otp_country_conversion_ratio: row.conversion ?? 1,
          })),
    );
  }

  /** Every region and number block with codes in the window, paused ones first. */
  async pumpingStatus(prefix?: 'region:' | 'block:'): Promise<PumpingScope[]> {
    const rows = await this.dataSource.query<ScopeRow[]>(
      `SELECT s.scope, c.settled, c.verified,
              otp_pumping_paused(c.settled, c.verified, $3, $4) AS paused
         FROM (SELECT DISTINCT scope FROM otp_send_counts
                WHERE bucket >= otp_send_bucket($1) - interval '55 minutes'
                  AND (scope LIKE 'region:%' OR scope LIKE 'block:%')
                  AND ($5::varchar IS NULL OR scope LIKE $5 || '%')) s,
              otp_conversion(s.scope, $1, $2) c
        ORDER BY 4 DESC, c.settled DESC, s.scope
        LIMIT ${STATUS_LIMIT}`,
      [
        this.clock.now(),
        `${this.otp.ttlSeconds} seconds`,
        this.otp.pumpingMinSends,
        this.otp.pumpingMinConversion,
        prefix ?? null,
      ],
    );
    return rows.map((row) => ({
      ...row,
      conversion: row.settled > 0 ? row.verified / row.settled : null,
    }));
  }

  /** Resets the guard's counts of one region or block: sends there go out again. */
  async clearPumping(scope: string): Promise<number> {
    const [, deleted] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM otp_send_counts WHERE scope = $1`,
      [scope],
    );
    return deleted;
  }

  /**
   * Gives a target its hour back: its sends and its wrong codes of the limits' window are
   * forgotten, so its owner can ask for a code and try codes again at once.
   */
  async clearTarget(target: Target): Promise<ClearedTarget> {
    // Only the window's rows: older ones count for nothing and stay for investigations.
    const since = new Date(this.clock.now().getTime() - LIMIT_WINDOW_MS);
    return this.dataSource.transaction(async (manager) => {
      const [, sends] = await manager.query<[unknown[], number]>(
        `DELETE FROM otp_sends WHERE target = $1 AND sent_at > $2`,
        [target.value, since],
      );
      const [, failures] = await manager.query<[unknown[], number]>(
        `DELETE FROM otp_verify_failures WHERE target = $1 AND failed_at > $2`,
        [target.value, since],
      );
      return { sends, failures };
    });
  }
}
