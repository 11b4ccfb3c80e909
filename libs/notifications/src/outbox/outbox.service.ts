import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Clock, MetricsService } from '@app/common';
import { AuditService } from '@app/audit';
import { Channel, Notifier, PermanentDeliveryError } from '../notifier';
import { MessagePayload, PayloadCipher } from './payload-cipher';

/** Who a message concerns, carried to the audit events its delivery writes. */
export interface MessageAudit {
  clientId?: string;
  userId?: string;
  challengeId?: string;
  ip?: string;
}

export interface QueuedMessage extends MessagePayload {
  channel: Channel;
  to: string;
  /** Messages of one group (e.g. the codes of one challenge). */
  groupKey?: string;
  /**
   * This message makes the group's older ones worthless (a resent code): they are superseded
   * if still pending. Left false for a group's first message, which saves a statement.
   */
  supersedesGroup?: boolean;
  /** Not delivered after this (a code past its lifetime is useless to the user). */
  expiresAt: Date;
  audit: MessageAudit;
}

/** How a delivery attempt ended: delivered, left for the poller to retry, or refused for good. */
export type DeliveryOutcome =
  { status: 'sent' } | { status: 'queued' } | { status: 'failed'; providerCode?: string };

interface ClaimedRow {
  id: string;
  channel: Channel;
  recipient: string;
  payload: Buffer | null;
  attempts: number;
  expires_at: Date;
  audit: MessageAudit;
}

/** Transient failures are retried this many times in all before the message is given up. */
export const MAX_DELIVERY_ATTEMPTS = 8;
const BACKOFF_BASE_MS = 2_000;
const BACKOFF_CAP_MS = 5 * 60_000;
const ERROR_TEXT_LIMIT = 500;
const PURGE_BATCH = 1_000;

/**
 * The durable outbox. A message is written in the caller's transaction, tried once right after
 * commit, and otherwise retried by the poller; nothing is lost when the provider or the process
 * fails. The payload is encrypted at rest and wiped once the message is done with.
 */
@Injectable()
export class OutboxService {
  private readonly logger = new Logger(OutboxService.name);
  private readonly timeoutMs: number;
  /** While the inline attempt may be running, the poller must not take the message. */
  private readonly inlineLeaseMs: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifier: Notifier,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly cipher: PayloadCipher,
    private readonly metrics: MetricsService,
  ) {
    this.timeoutMs = config.notify.timeoutMs;
    this.inlineLeaseMs = 2 * this.timeoutMs + 5_000;
    metrics.gauge('otp_outbox_backlog', 'Messages waiting for delivery', async () => {
      const [row] = await this.dataSource.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM outbox_messages WHERE status = 'pending'`,
      );
      return row.n;
    });
    metrics.gauge(
      'otp_outbox_oldest_pending_age_seconds',
      'Age of the oldest message waiting for delivery (0 when none)',
      async () => {
        const [row] = await this.dataSource.query<Array<{ oldest: Date | null }>>(
          `SELECT min(created_at) AS oldest FROM outbox_messages WHERE status = 'pending'`,
        );
        return row.oldest ? (this.clock.now().getTime() - row.oldest.getTime()) / 1000 : 0;
      },
    );
  }

  /** Queues a message in `manager`'s transaction; counts as its first attempt. Returns its id. */
  async enqueue(manager: EntityManager, message: QueuedMessage): Promise<string> {
    const now = this.clock.now();
    if (message.groupKey && message.supersedesGroup) {
      await manager.query(
        `UPDATE outbox_messages SET status = 'superseded', payload = NULL
          WHERE group_key = $1 AND status = 'pending'`,
        [message.groupKey],
      );
    }
    const rows = await manager.query<Array<{ id: string }>>(
      `INSERT INTO outbox_messages
         (channel, recipient, payload, status, attempts, next_attempt_at, expires_at, audit, created_at, group_key)
       VALUES ($1, $2, $3, 'pending', 1, $4, $5, $6, $7, $8)
       RETURNING id`,
      [
        message.channel,
        message.to,
        this.cipher.encrypt({ body: message.body, code: message.code, authCode: message.authCode }),
        new Date(now.getTime() + this.inlineLeaseMs),
        message.expiresAt,
        message.audit,
        now,
        message.groupKey ?? null,
      ],
    );
    return rows[0].id;
  }

  /** The first attempt, right after the enqueuing transaction committed; bounded by NOTIFY_TIMEOUT_MS. */
  async deliverNow(id: string, message: QueuedMessage): Promise<DeliveryOutcome> {
    return this.attempt(
      { id, channel: message.channel, recipient: message.to, attempts: 1, audit: message.audit },
      message,
    );
  }

  /**
   * Claims due messages (safe with many instances: SKIP LOCKED, and a lease so a claimed message
   * is not claimed again while it is being sent) and tries them all at once, so every send of
   * the batch starts at once and ends within NOTIFY_TIMEOUT_MS, well inside the lease. Returns
   * how many it tried.
   */
  async deliverDue(batchSize = 20): Promise<number> {
    const now = this.clock.now();
    const [claimed] = await this.dataSource.query<[ClaimedRow[], number]>(
      `UPDATE outbox_messages
          SET attempts = attempts + 1, next_attempt_at = $2
        WHERE id IN (SELECT id FROM outbox_messages
                      WHERE status = 'pending' AND next_attempt_at <= $1
                      ORDER BY next_attempt_at
                      LIMIT $3
                      FOR UPDATE SKIP LOCKED)
        RETURNING id, channel, recipient, payload, attempts, expires_at, audit`,
      [now, new Date(now.getTime() + this.inlineLeaseMs), batchSize],
    );
    await Promise.all(
      claimed.map(async (row) => {
        if (row.expires_at.getTime() <= now.getTime() || !row.payload) {
          await this.finish(row, 'expired', 'expired before delivery');
          return;
        }
        await this.attempt(row, this.cipher.decrypt(row.payload));
      }),
    );
    return claimed.length;
  }

  /**
   * Deletes one batch of messages finished more than `retentionMs` ago (pending ones never).
   * Returns whether a full batch went, i.e. there may be more.
   */
  async purgeFinished(retentionMs: number, batchSize = PURGE_BATCH): Promise<boolean> {
    const cutoff = new Date(this.clock.now().getTime() - retentionMs);
    const [, deleted] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM outbox_messages
        WHERE id IN (SELECT id FROM outbox_messages
                      WHERE status <> 'pending' AND created_at < $1
                      LIMIT $2
                      FOR UPDATE SKIP LOCKED)`,
      [cutoff, batchSize],
    );
    return deleted === batchSize;
  }

  private async attempt(
    row: Pick<ClaimedRow, 'id' | 'channel' | 'recipient' | 'attempts' | 'audit'>,
    payload: MessagePayload,
  ): Promise<DeliveryOutcome> {
    let providerMessageId: string | undefined;
    const stopTimer = this.metrics.providerLatency.startTimer({ driver: this.notifier.name });
    try {
      const receipt = await this.notifier.send(
        { id: row.id, channel: row.channel, to: row.recipient, ...payload },
        AbortSignal.timeout(this.timeoutMs),
      );
      providerMessageId = receipt.providerMessageId;
      stopTimer({ outcome: 'accepted' });
    } catch (error) {
      stopTimer({ outcome: error instanceof PermanentDeliveryError ? 'rejected' : 'failed' });
      return this.recordFailure(row, error);
    }
    // Outside the try: a failure to record a delivery must not be mistaken for a failed send.
    await this.finish(row, 'sent', undefined, providerMessageId);
    return { status: 'sent' };
  }

  private async recordFailure(
    row: Pick<ClaimedRow, 'id' | 'channel' | 'recipient' | 'attempts' | 'audit'>,
    error: unknown,
  ): Promise<DeliveryOutcome> {
    if (error instanceof PermanentDeliveryError) {
      await this.finish(row, 'failed', `rejected: ${error.providerCode ?? error.message}`);
      return { status: 'failed', providerCode: error.providerCode };
    }
    const reason = error instanceof Error ? error.message : String(error);
    if (row.attempts >= MAX_DELIVERY_ATTEMPTS) {
      await this.finish(row, 'failed', `gave up after ${row.attempts} attempts: ${reason}`);
      return { status: 'failed' };
    }
    await this.scheduleRetry(row, reason);
    return { status: 'queued' };
  }

  /**
   * Ends a message: wipes its payload and writes the audit event. Only the holder of the current
   * attempt may: an outcome from a claim that is no longer current (superseded, or re-claimed
   * after its lease) changes nothing.
   */
  private async finish(
    row: Pick<ClaimedRow, 'id' | 'channel' | 'recipient' | 'attempts' | 'audit'>,
    status: 'sent' | 'failed' | 'expired',
    error?: string,
    providerMessageId?: string,
  ): Promise<void> {
    const now = this.clock.now();
    const [, updated] = await this.dataSource.query<[unknown[], number]>(
      `UPDATE outbox_messages
          SET status = $2::varchar, payload = NULL, last_error = $3, provider_message_id = $4,
              sent_at = CASE WHEN $2::varchar = 'sent' THEN $5::timestamptz ELSE NULL END
        WHERE id = $1 AND status = 'pending' AND attempts = $6`,
      [
        row.id,
        status,
        error?.slice(0, ERROR_TEXT_LIMIT) ?? null,
        providerMessageId ?? null,
        now,
        row.attempts,
      ],
    );
    if (updated === 0) return;
    this.metrics.messages.inc({ channel: row.channel, status });
    await this.audit.record([
      {
        event: status === 'sent' ? 'sent' : 'delivery_failed',
        ...row.audit,
        phoneE164: row.recipient,
        detail: error,
        at: now,
      },
    ]);
    if (status !== 'sent')
      this.logger.warn({ messageId: row.id, status, error }, 'message not delivered');
  }

  private async scheduleRetry(
    row: Pick<ClaimedRow, 'id' | 'channel' | 'recipient' | 'attempts' | 'audit'>,
    reason: string,
  ) {
    const now = this.clock.now();
    const delay = Math.min(BACKOFF_BASE_MS * 2 ** (row.attempts - 1), BACKOFF_CAP_MS);
    const jittered = delay * (0.8 + Math.random() * 0.4); // spread retries after a provider outage
    const [, updated] = await this.dataSource.query<[unknown[], number]>(
      `UPDATE outbox_messages SET next_attempt_at = $2, last_error = $3
        WHERE id = $1 AND status = 'pending' AND attempts = $4`,
      [row.id, new Date(now.getTime() + jittered), reason.slice(0, ERROR_TEXT_LIMIT), row.attempts],
    );
    if (updated === 0) return;
    this.metrics.messages.inc({ channel: row.channel, status: 'retry' });
    await this.audit.record([
      {
        event: 'delivery_failed',
        ...row.audit,
        phoneE164: row.recipient,
        detail: `will retry: ${reason}`,
        at: now,
      },
    ]);
    this.logger.warn(
      { messageId: row.id, attempts: row.attempts, error: reason },
      'delivery failed; will retry',
    );
  }
}
