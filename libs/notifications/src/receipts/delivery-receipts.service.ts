import { Injectable, Logger } from '@nestjs/common';
import { Channel, CHANNEL_TARGET, Clock, MetricsService } from '@app/common';
import { AUDIT_COLUMNS, AuditService, auditRecordCall, placeholders } from '@app/audit';
import { Sql, statement } from '@app/database';
import { OutboxService, type MessageAudit } from '../outbox/outbox.service';

/**
 * How far along delivery each status of a message or a call is: a receipt is recorded only when
 * it goes further than the one recorded, so repeated and out-of-order callbacks change nothing
 * backwards. The final statuses share the last rank (the first final one wins); WhatsApp's
 * `read` comes after `delivered`.
 */
export const RECEIPT_RANKS: Readonly<Record<string, number>> = {
  accepted: 1,
  scheduled: 1,
  queued: 1,
  initiated: 1,
  sending: 2,
  ringing: 2,
  sent: 3,
  'in-progress': 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  canceled: 4,
  completed: 4,
  busy: 4,
  'no-answer': 4,
  read: 5,
};

export function isReceiptStatus(value: string): boolean {
  return Object.prototype.hasOwnProperty.call(RECEIPT_RANKS, value);
}

const RANK_OF_RECORDED = `CASE delivery_status ${Object.entries(RECEIPT_RANKS)
  .map(([status, rank]) => `WHEN '${status}' THEN ${rank}`)
  .join(' ')} ELSE 0 END`;

const FIND = statement(
  `SELECT id, channel, recipient, audit FROM outbox_messages WHERE provider_message_id = $1
    LIMIT 1`,
);

/** The status, only forwards, and its audit event, in one statement. */
const RECORD = statement(
  `WITH done AS (
     UPDATE outbox_messages SET delivery_status = $2, delivery_status_at = $3
      WHERE id = $1 AND ${RANK_OF_RECORDED} < $4
      RETURNING id),
   e (${AUDIT_COLUMNS}) AS (VALUES (${placeholders(5)}))
   SELECT ${auditRecordCall('e')} FROM done, e`,
);

const DELIVERED = new Set(['delivered', 'completed', 'read']);

/** A failed receipt releases the held message that falls back from this one. */
const RELEASE_NEXT = statement(
  `UPDATE outbox_messages SET status = 'pending', attempts = 0, next_attempt_at = $2
    WHERE after_id = $1 AND status = 'held'
    RETURNING channel`,
);

/** A delivered receipt supersedes every held message after this one. */
const SUPERSEDE_CHAIN = statement(
  `WITH RECURSIVE chain (id) AS (
     SELECT id FROM outbox_messages WHERE after_id = $1 AND status = 'held'
     UNION ALL
     SELECT h.id FROM outbox_messages h JOIN chain ON h.after_id = chain.id
      WHERE h.status = 'held')
   UPDATE outbox_messages SET status = 'superseded', payload = NULL
    WHERE id IN (SELECT id FROM chain) AND status = 'held'`,
);

export interface Receipt {
  /** The provider's id of the message or call (SM…, MM…, CA…). */
  providerMessageId: string;
  status: string;
  /** The provider's error code with a failed status, when it gave one. */
  errorCode?: string;
}

export type ReceiptOutcome = 'recorded' | 'unchanged' | 'unknown';

/**
 * Delivery receipts: the provider's status of a message recorded on its outbox row, in the audit
 * trail (a `receipt` event with the channel, the provider's id and the status) and in
 * `otp_delivery_receipts_total{channel,status}`.
 */
@Injectable()
export class DeliveryReceipts {
  private readonly logger = new Logger(DeliveryReceipts.name);

  constructor(
    private readonly sql: Sql,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly outbox: OutboxService,
  ) {}

  async record(receipt: Receipt): Promise<ReceiptOutcome> {
    const rank = RECEIPT_RANKS[receipt.status];
    if (rank === undefined) throw new Error(`unknown receipt status ${receipt.status}`);
    const [row] = await this.sql.rows<{
      id: string;
      channel: Channel;
      recipient: string;
      audit: MessageAudit;
    }>(FIND, [receipt.providerMessageId]);
    if (!row) return 'unknown';
    const at = this.clock.now();
    const error = receipt.errorCode ? ` (error ${receipt.errorCode})` : '';
    const values = this.audit.values({
      event: 'receipt',
      ...row.audit,
      target: { kind: CHANNEL_TARGET[row.channel], value: row.recipient },
      detail: `${row.channel} ${receipt.providerMessageId} ${receipt.status}${error}`,
      at,
    });
    const written = await this.sql.rows(RECORD, [row.id, receipt.status, at, rank, ...values]);
    if (written.length === 0) return 'unchanged';
    this.metrics.receipts.inc({ channel: row.channel, status: receipt.status });
    if (DELIVERED.has(receipt.status)) {
      // Delivered: the code's fallbacks will not be needed.
      await this.sql.run(SUPERSEDE_CHAIN, [row.id]);
    } else if (rank === 4) {
      this.logger.warn(
        { messageId: row.id, channel: row.channel, status: receipt.status },
        'the provider reports a message not delivered',
      );
      // Not delivered: the same code goes on the next channel (the poller sends it).
      const released = await this.sql.rows<{ channel: Channel }>(RELEASE_NEXT, [row.id, at]);
      for (const next of released) {
        await this.outbox.recordFallback(
          {
            from_channel: row.channel,
            to_channel: next.channel,
            recipient: row.recipient,
            audit: row.audit,
          },
          `${row.channel} ${receipt.status}: ${next.channel} next`,
        );
      }
    }
    return 'recorded';
  }
}
