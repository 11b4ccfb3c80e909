import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AuditContext, Channel, CHANNEL_TARGET, Clock, MetricsService, Target } from '@app/common';
import {
  AUDIT_COLUMN_TYPES,
  AUDIT_COLUMNS,
  AuditRecord,
  AuditService,
  auditRecordCall,
  placeholders,
} from '@app/audit';
import { perTurnBatcher, Sql, statement, type Statement } from '@app/database';
import { PermanentDeliveryError } from '../notifier';
import { Notifiers } from '../notifiers';
import { MessagePayload, PayloadCipher } from './payload-cipher';

/** Who a message concerns, carried to the audit events its delivery writes. */
export interface MessageAudit extends AuditContext {
  challengeId?: string;
}

/** The same code on another channel: the next of NOTIFY_FALLBACK's chain. */
export interface FallbackMessage extends MessagePayload {
  channel: Channel;
}

export interface QueuedMessage extends MessagePayload {
  channel: Channel;
  to: string;
  /** Not delivered after this (a code past its lifetime is useless to the user). */
  expiresAt: Date;
  audit: MessageAudit;
  /** Sent in order, each when the one before failed for good (CHANNELS.md fallback). */
  fallbacks?: FallbackMessage[];
}

/**
 * A message ready to be written to the outbox by the transaction that makes what it is about:
 * outbox_enqueue's argument (as jsonArgs).
 */
export interface PreparedMessage {
  channel: Channel;
  recipient: string;
  /** The payload, encrypted. */
  payload: Buffer;
  /** The inline attempt's lease: no poller takes the message before. */
  leaseUntil: Date;
  expiresAt: Date;
  createdAt: Date;
  audit: MessageAudit;
  /** The fallbacks, encrypted, payloads as `\\x…` hex (outbox_enqueue writes them `held`). */
  fallbacks?: Array<{ channel: Channel; recipient: string; payload: string }>;
}

/** How a delivery attempt ended: delivered, left for the poller to retry, or refused for good. */
export type DeliveryOutcome = (
  { status: 'sent' } | { status: 'queued' } | { status: 'failed'; providerCode?: string }
) & {
  /** The channel of the last attempt: a fallback's when the first channel failed for good. */
  channel?: Channel;
};

/** What recording an attempt's end did: whether it was current, and the fallback it released. */
interface Finished {
  ended: boolean;
  /** Released for this process's attempt (attempt 1, leased like an enqueued message). */
  fallback?: ClaimedRow;
}

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

/*
 * Ending an attempt and its audit event are one statement: the event is written only when the
 * attempt was still the current one (the UPDATE changed its row), and RETURNING says so.
 *
 * This bookkeeping commits without waiting for the WAL flush (synchronous_commit off for its
 * transaction only): a commit's flush cost half the throughput of a small write here. A
 * database crash can lose the last moments of it; such a message is still pending, so it is sent
 * again after its lease: at least once, as always. The writes that must survive (the challenge
 * and its message, attempts, links) keep waiting for the flush.
 */
const RELAXED_COMMIT = `relaxed AS MATERIALIZED (
     SELECT set_config('synchronous_commit', 'off', true) AS setting)`;
/** The values of one outcome in a FINISH statement, typed by the first row's casts. */
const OUTCOME_CASTS = [
  ...['uuid', 'varchar', 'varchar', 'varchar', 'timestamptz', 'int', 'timestamptz', 'boolean'],
  ...AUDIT_COLUMN_TYPES,
];
const OUTCOME_FIELDS = `id, status, error, provider_message_id, at, attempts, lease_until, keep_held, ${AUDIT_COLUMNS}`;
/** Most outcomes one FINISH statement records. */
const FINISH_BATCH_LIMIT = 50;
const finishStatements = new Map<number, Statement>();

/**
 * Ends `count` attempts in one statement, each only if it is still the message's current one,
 * with the audit event of each message it ended; returns the ended messages' id and attempts.
 */
function finishStatement(count: number): Statement {
  let cached = finishStatements.get(count);
  if (!cached) {
    const rows = Array.from({ length: count }, (_, row) => {
      const first = row * OUTCOME_CASTS.length + 1;
      const values = OUTCOME_CASTS.map((cast, i) =>
        row === 0 ? `$${first + i}::${cast}` : `$${first + i}`,
      );
      return `(${values.join(', ')})`;
    });
    cached = statement(
      `WITH RECURSIVE ${RELAXED_COMMIT},
       f (${OUTCOME_FIELDS}) AS (VALUES ${rows.join(', ')}),
       done AS (
         UPDATE outbox_messages m
            SET status = f.status, payload = NULL, last_error = f.error,
                provider_message_id = f.provider_message_id,
                sent_at = CASE WHEN f.status = 'sent' THEN f.at ELSE NULL END
           FROM f
          WHERE m.id = f.id AND m.status = 'pending' AND m.attempts = f.attempts
            AND EXISTS (SELECT 1 FROM relaxed)
          RETURNING m.id, m.attempts),
       chain (id, head, depth) AS (
         SELECT h.id, done.id, 1 FROM outbox_messages h JOIN done ON h.after_id = done.id
          WHERE h.status = 'held'
         UNION ALL
         SELECT h.id, chain.head, chain.depth + 1
           FROM outbox_messages h JOIN chain ON h.after_id = chain.id
          WHERE h.status = 'held'),
       released AS (
         UPDATE outbox_messages h
            SET status = CASE WHEN f.status = 'failed' THEN 'pending' ELSE 'superseded' END,
                attempts = CASE WHEN f.status = 'failed' THEN 1 ELSE h.attempts END,
                next_attempt_at = f.lease_until,
                payload = CASE WHEN f.status = 'failed' THEN h.payload END
           FROM chain
           JOIN done ON done.id = chain.head
           JOIN f ON f.id = done.id AND f.attempts = done.attempts
          WHERE h.id = chain.id AND h.status = 'held'
            AND ((f.status = 'failed' AND chain.depth = 1)
                 OR (f.status <> 'failed' AND NOT f.keep_held))
          RETURNING h.id, h.after_id, h.channel, h.recipient, h.payload, h.attempts,
                    h.expires_at, h.audit, h.status),
       events AS MATERIALIZED (
         SELECT done.id, done.attempts, ${auditRecordCall('f')}
           FROM f JOIN done ON done.id = f.id AND done.attempts = f.attempts)
       SELECT e.id, e.attempts, r.id AS fallback_id, r.channel AS fallback_channel,
              r.recipient AS fallback_recipient, r.payload AS fallback_payload,
              r.expires_at AS fallback_expires_at, r.audit AS fallback_audit
         FROM events e LEFT JOIN released r ON r.after_id = e.id AND r.status = 'pending'`,
    );
    finishStatements.set(count, cached);
  }
  return cached;
}

/** How one attempt ended, for FINISH. */
interface Outcome {
  id: string;
  attempts: number;
  /** OUTCOME_FIELDS' values. */
  values: unknown[];
}

const SCHEDULE_RETRY = statement(
  `WITH ${RELAXED_COMMIT},
   done AS (
     UPDATE outbox_messages SET next_attempt_at = $2, last_error = $3
      WHERE id = $1 AND status = 'pending' AND attempts = $4
        AND EXISTS (SELECT 1 FROM relaxed)
      RETURNING id),
   e (${AUDIT_COLUMNS}) AS (VALUES (${placeholders(5)}))
   SELECT ${auditRecordCall('e')} FROM done, e`,
);

/**
 * The durable outbox. A message is written in the caller's transaction, tried once right after
 * commit, and otherwise retried by the poller; nothing is lost when the provider or the process
 * fails. The payload is encrypted at rest and wiped once the message is done with.
 */
@Injectable()
export class OutboxService {
  private readonly logger = new Logger(OutboxService.name);
  /**
   * The outcomes of one turn of the event loop go as one FINISH statement: under load that is
   * a fraction of a round trip per message where it was a whole one (about a third of a
   * register's cost). Each caller still waits for its own outcome to be written.
   */
  private readonly outcomes = perTurnBatcher<Outcome, Finished>(
    (outcomes) => this.finishAll(outcomes),
    FINISH_BATCH_LIMIT,
  );
  private readonly timeoutMs: number;
  /** While the inline attempt may be running, the poller must not take the message. */
  private readonly inlineLeaseMs: number;
  /** The channels whose provider sends delivery receipts (Twilio's, with PUBLIC_URL). */
  private readonly receiptChannels: ReadonlySet<Channel>;
  private readonly fallbackAfterSeconds: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sql: Sql,
    private readonly notifiers: Notifiers,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly cipher: PayloadCipher,
    private readonly metrics: MetricsService,
  ) {
    this.timeoutMs = config.notify.timeoutMs;
    this.inlineLeaseMs = 2 * this.timeoutMs + 5_000;
    const { driver, twilio, fallbackAfterSeconds } = config.notify;
    this.receiptChannels = new Set<Channel>(
      driver === 'twilio' && twilio.statusCallbackUrl ? ['sms', 'whatsapp', 'voice'] : [],
    );
    this.fallbackAfterSeconds = fallbackAfterSeconds;
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

  /**
   * The outbox row of a message, for the statement that queues it with what it is about (the
   * code's challenge): the payload encrypted, and the lease of the first, inline attempt.
   */
  prepare(message: QueuedMessage): PreparedMessage {
    const now = this.clock.now();
    return {
      channel: message.channel,
      recipient: message.to,
      payload: this.cipher.encrypt({
        body: message.body,
        subject: message.subject,
        html: message.html,
        locale: message.locale,
        code: message.code,
        authCode: message.authCode,
      }),
      leaseUntil: new Date(now.getTime() + this.inlineLeaseMs),
      expiresAt: message.expiresAt,
      createdAt: now,
      audit: message.audit,
      fallbacks: message.fallbacks?.map((fallback) => ({
        channel: fallback.channel,
        recipient: message.to,
        payload: `\\x${this.cipher
          .encrypt({
            body: fallback.body,
            subject: fallback.subject,
            locale: fallback.locale,
            code: fallback.code,
            authCode: fallback.authCode,
          })
          .toString('hex')}`,
      })),
    };
  }

  /** The first attempt, right after the enqueuing transaction committed; bounded by NOTIFY_TIMEOUT_MS. */
  async deliverNow(id: string, message: QueuedMessage): Promise<DeliveryOutcome> {
    return this.attempt(
      {
        id,
        channel: message.channel,
        recipient: message.to,
        attempts: 1,
        audit: message.audit,
        expires_at: message.expiresAt,
      },
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
   * NOTIFY_FALLBACK_AFTER_SECONDS (receipts only): a message sent that long ago whose provider
   * has not reported it delivered releases its held fallback for the poller. One statement, safe
   * with every instance running it (the `held` guard). Returns how many it released.
   */
  async releaseUnconfirmed(): Promise<number> {
    if (this.receiptChannels.size === 0) return 0;
    const now = this.clock.now();
    const [released] = await this.dataSource.query<
      [
        Array<{
          id: string;
          from_channel: Channel;
          to_channel: Channel;
          recipient: string;
          audit: MessageAudit;
        }>,
        number,
      ]
    >(
      `UPDATE outbox_messages h
          SET status = 'pending', attempts = 0, next_attempt_at = $1::timestamptz
         FROM outbox_messages m
        WHERE h.after_id = m.id AND h.status = 'held' AND m.status = 'sent'
          AND m.sent_at <= $1::timestamptz - make_interval(secs => $2::int)
          AND (m.delivery_status IS NULL
               OR m.delivery_status NOT IN ('delivered', 'completed', 'read', 'in-progress'))
        RETURNING h.id, m.channel AS from_channel, h.channel AS to_channel, h.recipient, h.audit`,
      [now, this.fallbackAfterSeconds],
    );
    for (const row of released) {
      await this.recordFallback(row, `${row.from_channel} not confirmed: ${row.to_channel} next`);
    }
    return released.length;
  }

  /** The audit event and the metric of a fallback released outside FINISH. */
  async recordFallback(
    row: { from_channel: Channel; to_channel: Channel; recipient: string; audit: MessageAudit },
    detail: string,
  ): Promise<void> {
    this.metrics.fallbacks.inc({ from: row.from_channel, to: row.to_channel });
    await this.audit.record([
      {
        event: 'fallback',
        ...row.audit,
        target: { kind: CHANNEL_TARGET[row.to_channel], value: row.recipient },
        detail,
        at: this.clock.now(),
      },
    ]);
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
    row: Pick<ClaimedRow, 'id' | 'channel' | 'recipient' | 'attempts' | 'audit' | 'expires_at'>,
    payload: MessagePayload,
  ): Promise<DeliveryOutcome> {
    let providerMessageId: string | undefined;
    let stopTimer: ReturnType<typeof this.metrics.providerLatency.startTimer> | undefined;
    try {
      const driver = this.notifiers.for(row.channel);
      stopTimer = this.metrics.providerLatency.startTimer({ driver: driver.name });
      const receipt = await driver.send(
        {
          id: row.id,
          channel: row.channel,
          to: row.recipient,
          ...payload,
          validForSeconds: Math.max(
            1,
            Math.ceil((row.expires_at.getTime() - this.clock.now().getTime()) / 1000),
          ),
        },
        AbortSignal.timeout(this.timeoutMs),
      );
      providerMessageId = receipt.providerMessageId;
      stopTimer({ outcome: 'accepted' });
    } catch (error) {
      stopTimer?.({ outcome: error instanceof PermanentDeliveryError ? 'rejected' : 'failed' });
      return this.recordFailure(row, error);
    }
    // Outside the try: a failure to record a delivery must not be mistaken for a failed send.
    await this.finish(row, 'sent', undefined, providerMessageId);
    return { status: 'sent', channel: row.channel };
  }

  private async recordFailure(
    row: Pick<ClaimedRow, 'id' | 'channel' | 'recipient' | 'attempts' | 'audit'>,
    error: unknown,
  ): Promise<DeliveryOutcome> {
    const { channel } = row;
    if (error instanceof PermanentDeliveryError) {
      const done = await this.finish(
        row,
        'failed',
        `rejected: ${error.providerCode ?? error.message}`,
      );
      return (
        (await this.fallBack(done)) ?? {
          status: 'failed',
          providerCode: error.providerCode,
          channel,
        }
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    if (row.attempts >= MAX_DELIVERY_ATTEMPTS) {
      const done = await this.finish(
        row,
        'failed',
        `gave up after ${row.attempts} attempts: ${reason}`,
      );
      return (await this.fallBack(done)) ?? { status: 'failed', channel };
    }
    await this.scheduleRetry(row, reason);
    return { status: 'queued', channel };
  }

  /**
   * The next channel's message that a failure released is this process's to try at once, like
   * a message just enqueued: leased to it, so no poller takes it meanwhile, and left to the
   * poller after the lease if this process dies. Undefined when nothing was released.
   */
  private async fallBack(done: Finished): Promise<DeliveryOutcome | undefined> {
    const next = done.fallback;
    if (!next) return undefined;
    if (!next.payload || next.expires_at.getTime() <= this.clock.now().getTime()) {
      await this.finish(next, 'expired', 'expired before delivery');
      return { status: 'failed', channel: next.channel };
    }
    return this.attempt(next, this.cipher.decrypt(next.payload));
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
  ): Promise<Finished> {
    const now = this.clock.now();
    const event: AuditRecord = {
      event: status === 'sent' ? 'sent' : 'delivery_failed',
      ...row.audit,
      target: targetOf(row),
      detail: error,
      at: now,
    };
    const done = await this.outcomes.load({
      id: row.id,
      attempts: row.attempts,
      values: [
        row.id,
        status,
        error?.slice(0, ERROR_TEXT_LIMIT) ?? null,
        providerMessageId ?? null,
        now,
        row.attempts,
        new Date(now.getTime() + this.inlineLeaseMs),
        // A sent message whose provider will report its delivery keeps its fallback held: a
        // failed receipt, or none in time, releases it (DeliveryReceipts, releaseUnconfirmed).
        status === 'sent' && this.receiptChannels.has(row.channel),
        ...this.audit.values(event),
      ],
    });
    if (!done.ended) return done;
    this.metrics.messages.inc({ channel: row.channel, status });
    if (status !== 'sent')
      this.logger.warn({ messageId: row.id, status, error }, 'message not delivered');
    if (done.fallback) {
      this.metrics.fallbacks.inc({ from: row.channel, to: done.fallback.channel });
      this.logger.warn(
        {
          messageId: row.id,
          fallbackId: done.fallback.id,
          from: row.channel,
          to: done.fallback.channel,
        },
        'falling back to the next channel',
      );
      await this.audit.record([
        {
          ...event,
          event: 'fallback',
          detail: `${row.channel} failed: ${done.fallback.channel} next`,
        },
      ]);
    }
    return done;
  }

  /** Writes the outcomes; for each, whether it ended its message and the fallback it released. */
  private async finishAll(outcomes: readonly Outcome[]): Promise<Finished[]> {
    const ended = await this.sql.rows<{
      id: string;
      attempts: number;
      fallback_id: string | null;
      fallback_channel: Channel | null;
      fallback_recipient: string | null;
      fallback_payload: Buffer | null;
      fallback_expires_at: Date | string | null;
      fallback_audit: MessageAudit | null;
    }>(
      finishStatement(outcomes.length),
      outcomes.flatMap((outcome) => outcome.values),
    );
    const rows = new Map(ended.map((row) => [`${row.id}/${row.attempts}`, row]));
    return outcomes.map((outcome) => {
      const row = rows.get(`${outcome.id}/${outcome.attempts}`);
      if (!row) return { ended: false };
      if (!row.fallback_id || !row.fallback_channel || !row.fallback_expires_at) {
        return { ended: true };
      }
      return {
        ended: true,
        fallback: {
          id: row.fallback_id,
          channel: row.fallback_channel,
          recipient: row.fallback_recipient ?? '',
          payload: row.fallback_payload === null ? null : Buffer.from(row.fallback_payload),
          attempts: 1,
          expires_at: new Date(row.fallback_expires_at),
          audit: row.fallback_audit ?? {},
        },
      };
    });
  }

  private async scheduleRetry(
    row: Pick<ClaimedRow, 'id' | 'channel' | 'recipient' | 'attempts' | 'audit'>,
    reason: string,
  ) {
    const now = this.clock.now();
    const delay = Math.min(BACKOFF_BASE_MS * 2 ** (row.attempts - 1), BACKOFF_CAP_MS);
    const jittered = delay * (0.8 + Math.random() * 0.4); // spread retries after a provider outage
    const event: AuditRecord = {
      event: 'delivery_failed',
      ...row.audit,
      target: targetOf(row),
      detail: `will retry: ${reason}`,
      at: now,
    };
    const updated = await this.sql.run(SCHEDULE_RETRY, [
      row.id,
      new Date(now.getTime() + jittered),
      reason.slice(0, ERROR_TEXT_LIMIT),
      row.attempts,
      ...this.audit.values(event),
    ]);
    if (updated === 0) return;
    this.metrics.messages.inc({ channel: row.channel, status: 'retry' });
    this.logger.warn(
      { messageId: row.id, attempts: row.attempts, error: reason },
      'delivery failed; will retry',
    );
  }
}

/** Who a message went to, as the audit trail keeps it. */
function targetOf(row: Pick<ClaimedRow, 'channel' | 'recipient'>): Target {
  return { kind: CHANNEL_TARGET[row.channel], value: row.recipient };
}
