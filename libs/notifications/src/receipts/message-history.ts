import { Injectable } from '@nestjs/common';
import { Channel, CHANNEL_TARGET, maskTarget, Target } from '@app/common';
import { AuditService } from '@app/audit';
import { Sql, statement } from '@app/database';

/** One delivery status the provider reported, when it was recorded. */
export interface DeliveryStatusView {
  status: string;
  /** The provider's error code given with a failed status. */
  errorCode: string | null;
  at: string;
}

/**
 * One outbox message as operators see it: never its payload (the code), the recipient masked.
 * The delivery statuses come from the audit trail's `receipt` events (the message row keeps only
 * the latest), oldest first.
 */
export interface MessageView {
  messageId: string;
  challengeId: string | null;
  channel: Channel;
  to: string;
  status: string;
  /** The message this one is the fallback of (null for a code's first message). */
  fallbackOf: string | null;
  providerMessageId: string | null;
  deliveryStatus: string | null;
  createdAt: string;
  sentAt: string | null;
  deliveryStatuses: DeliveryStatusView[];
}

/** The newest messages one query answers (the outbox keeps 7 days). */
export const MESSAGE_HISTORY_LIMIT = 50;

interface MessageRow {
  id: string;
  challenge_id: string | null;
  channel: Channel;
  recipient: string;
  status: string;
  after_id: string | null;
  provider_message_id: string | null;
  delivery_status: string | null;
  created_at: Date;
  sent_at: Date | null;
}

const MESSAGES = statement(
  `SELECT id, audit ->> 'challengeId' AS challenge_id, channel, recipient, status, after_id,
          provider_message_id, delivery_status, created_at, sent_at
     FROM outbox_messages
    WHERE ($1::varchar IS NULL OR recipient = $1)
      AND ($2::text IS NULL OR audit ->> 'challengeId' = $2)
    ORDER BY created_at DESC
    LIMIT $3`,
);

/** The receipt events of these targets since a time (the trail's target index serves it). */
const RECEIPTS = statement(
  `SELECT detail, created_at FROM audit_events
    WHERE target_hash = ANY($1::bytea[]) AND event = 'receipt' AND created_at >= $2
    ORDER BY created_at, id`,
);

/**
 * The admin view of a code's messages: each outbox message of a challenge or a recipient, its
 * channel, state, provider id, times, and each delivery status the provider reported with its
 * time.
 */
@Injectable()
export class MessageHistory {
  constructor(
    private readonly sql: Sql,
    private readonly audit: AuditService,
  ) {}

  /** By challenge, or by recipient (E.164 phone, address or chat id): newest code first. */
  async find(query: { challengeId?: string; recipient?: string }): Promise<MessageView[]> {
    const rows = await this.sql.rows<MessageRow>(MESSAGES, [
      query.recipient ?? null,
      query.challengeId ?? null,
      MESSAGE_HISTORY_LIMIT,
    ]);
    if (rows.length === 0) return [];
    const targets = new Map<string, Target>();
    for (const row of rows) {
      const target = { kind: CHANNEL_TARGET[row.channel], value: row.recipient };
      targets.set(`${target.kind}:${target.value}`, target);
    }
    const oldest = rows.reduce(
      (min, row) => (row.created_at < min ? row.created_at : min),
      rows[0].created_at,
    );
    const receipts = await this.sql.rows<{ detail: string | null; created_at: Date }>(RECEIPTS, [
      [...targets.values()].map((target) => this.audit.targetHash(target)),
      oldest,
    ]);
    return ordered(rows).map((row) => toView(row, receipts));
  }
}

/** Newest code first; a code's messages in the order of its fallback chain. */
function ordered(rows: MessageRow[]): MessageRow[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const depth = (row: MessageRow): number => {
    let n = 0;
    for (let at = row.after_id; at && byId.has(at) && n < rows.length; n++) {
      at = byId.get(at)!.after_id;
    }
    return n;
  };
  return rows
    .map((row) => ({ row, depth: depth(row) }))
    .sort(
      (a, b) =>
        b.row.created_at.getTime() - a.row.created_at.getTime() ||
        a.depth - b.depth ||
        a.row.id.localeCompare(b.row.id),
    )
    .map(({ row }) => row);
}

function toView(
  row: MessageRow,
  receipts: Array<{ detail: string | null; created_at: Date }>,
): MessageView {
  // A receipt event's detail: `<channel> <provider id> <status>[ (error <code>)]`.
  const prefix = row.provider_message_id ? `${row.channel} ${row.provider_message_id} ` : null;
  const deliveryStatuses = prefix
    ? receipts
        .filter((receipt) => receipt.detail?.startsWith(prefix))
        .map((receipt) => {
          const [, status, errorCode] = /^(\S+)(?: \(error ([^)]*)\))?$/.exec(
            receipt.detail!.slice(prefix.length),
          ) ?? [undefined, receipt.detail!.slice(prefix.length), undefined];
          return { status, errorCode: errorCode ?? null, at: receipt.created_at.toISOString() };
        })
    : [];
  return {
    messageId: row.id,
    challengeId: row.challenge_id,
    channel: row.channel,
    to: maskTarget({ kind: CHANNEL_TARGET[row.channel], value: row.recipient }),
    status: row.status,
    fallbackOf: row.after_id,
    providerMessageId: row.provider_message_id,
    deliveryStatus: row.delivery_status,
    createdAt: row.created_at.toISOString(),
    sentAt: row.sent_at?.toISOString() ?? null,
    deliveryStatuses,
  };
}
