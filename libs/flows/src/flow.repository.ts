import { Injectable } from '@nestjs/common';
import { jsonArgs, Sql, sqlFunctionCall, statement } from '@app/database';
import type { AuditedTarget } from '@app/audit';
import {
  FoundChallengeRow,
  OTP_FIND_ARGS,
  OtpFindArgs,
  OtpIssueArgs,
  OtpIssueRow,
  OtpMarkArgs,
  OtpWrongCodeArgs,
  OtpWrongCodeRow,
} from '@app/otp';
import type { PreparedMessage } from '@app/notifications';

/** A flow as the database keeps it. */
export interface FlowRow {
  realm: string;
  flow: string;
  modules: string;
  position: number;
  target: string | null;
  target_kind: 'phone' | 'email' | null;
  challenge_id: string | null;
  auth_code: string | null;
}

/** Where a request came from, and whose code it is, for the events the transactions write. */
interface Audited extends AuditedTarget {
  clientId: string;
  userId: string;
  ip: string;
}

export interface RequestCodeArgs extends Audited {
  flowHash: Buffer;
  position: number;
  /** 1: the flow moves on to its otp module; 0: a resend at the otp module. */
  advance: number;
  now: Date;
  target: string;
  targetKind: string;
  issue: OtpIssueArgs;
  message: PreparedMessage;
}

export type RequestCodeRow =
  | { outcome: 'flow_gone' }
  | Exclude<OtpIssueRow, { outcome: 'issued' }>
  | (Extract<OtpIssueRow, { outcome: 'issued' }> & { message_id: string });

export interface WrongCodeArgs extends Audited {
  flowHash: Buffer;
  count: OtpWrongCodeArgs;
}

export interface CodeVerifiedArgs extends Audited {
  flowHash: Buffer;
  position: number;
  now: Date;
  mark: OtpMarkArgs;
  targetKind: string;
  target: string;
  /** session_start_web's argument at the flow's last module; null before it. */
  session: Record<string, unknown> | null;
}

export type CodeVerifiedRow =
  | { outcome: 'flow_gone' | 'changed' | 'advanced' }
  | { outcome: 'signed_in'; session_row_id: string; phone_user_id: string | null };

const AUDIT_ARGS = {
  clientId: 'varchar',
  userId: 'varchar',
  targetMasked: 'varchar',
  targetHash: 'bytea',
  ip: 'varchar',
} as const;

const REQUEST_CODE = sqlFunctionCall<
  Omit<RequestCodeArgs, 'issue' | 'message'> & { issue: object; message: object },
  RequestCodeRow
>('flow_request_code', {
  ...AUDIT_ARGS,
  flowHash: 'bytea',
  position: 'integer',
  advance: 'integer',
  now: 'timestamptz',
  target: 'varchar',
  targetKind: 'varchar',
  issue: 'jsonb',
  message: 'jsonb',
});
const WRONG_CODE = sqlFunctionCall<
  Omit<WrongCodeArgs, 'count'> & { count: object; challengeId: string },
  OtpWrongCodeRow
>('flow_wrong_code', {
  ...AUDIT_ARGS,
  flowHash: 'bytea',
  count: 'jsonb',
  challengeId: 'uuid',
});
const CODE_VERIFIED = sqlFunctionCall<
  Omit<CodeVerifiedArgs, 'mark'> & { mark: object; challengeId: string },
  CodeVerifiedRow
>('flow_code_verified', {
  ...AUDIT_ARGS,
  flowHash: 'bytea',
  position: 'integer',
  now: 'timestamptz',
  mark: 'jsonb',
  challengeId: 'uuid',
  targetKind: 'varchar',
  target: 'varchar',
  session: 'jsonb',
});
const FIND_CHALLENGE = sqlFunctionCall<OtpFindArgs, FoundChallengeRow>(
  'otp_find_challenge',
  OTP_FIND_ARGS,
);

const INSERT = statement(
  `INSERT INTO auth_flows (id_hash, realm, flow, modules, created_at, expires_at)
   VALUES ($1, $2, $3, $4, $5, $6)`,
);
const FIND = statement(
  `SELECT realm, flow, modules, position, target, target_kind, challenge_id, auth_code
     FROM auth_flows WHERE id_hash = $1 AND expires_at > $2`,
);
const END = statement(`DELETE FROM auth_flows WHERE id_hash = $1`);
const STEP_BACK = statement(
  `UPDATE auth_flows SET position = $2 WHERE id_hash = $1 AND position = $2 + 1`,
);

/**
 * The sign-in flows' rows and transactions, each one database call (the functions of `sql/`
 * compose the libs' primitives, given their arguments as the libs built them).
 */
@Injectable()
export class FlowRepository {
  constructor(private readonly sql: Sql) {}

  async create(
    flowHash: Buffer,
    realm: string,
    flow: string,
    modules: readonly string[],
    now: Date,
    expiresAt: Date,
  ): Promise<void> {
    await this.sql.run(INSERT, [flowHash, realm, flow, modules.join(','), now, expiresAt]);
  }

  /** The flow, unless it ended or expired. */
  find(flowHash: Buffer, now: Date): Promise<FlowRow | undefined> {
    return this.sql.row<FlowRow>(FIND, [flowHash, now]);
  }

  async end(flowHash: Buffer): Promise<void> {
    await this.sql.run(END, [flowHash]);
  }

  /** Back to the module at `position` (its code could not be delivered). */
  async stepBack(flowHash: Buffer, position: number): Promise<void> {
    await this.sql.run(STEP_BACK, [flowHash, position]);
  }

  requestCode({ issue, message, ...rest }: RequestCodeArgs): Promise<RequestCodeRow> {
    return this.sql.call(REQUEST_CODE, {
      ...rest,
      issue: jsonArgs(issue),
      message: jsonArgs(message),
    });
  }

  findChallenge(args: OtpFindArgs): Promise<FoundChallengeRow> {
    return this.sql
      .row<FoundChallengeRow>(
        FIND_CHALLENGE,
        FIND_CHALLENGE.keys.map((key) => args[key]),
      )
      .then((row) => row ?? { challenge_id: null });
  }

  countWrongCode({ count, ...rest }: WrongCodeArgs): Promise<OtpWrongCodeRow> {
    return this.sql.call(WRONG_CODE, {
      ...rest,
      count: jsonArgs(count),
      challengeId: count.challengeId,
    });
  }

  codeVerified({ mark, ...rest }: CodeVerifiedArgs): Promise<CodeVerifiedRow> {
    return this.sql.call(CODE_VERIFIED, {
      ...rest,
      mark: jsonArgs(mark),
      challengeId: mark.challengeId,
    });
  }
}
