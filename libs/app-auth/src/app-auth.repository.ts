import { Injectable } from '@nestjs/common';
import { jsonArgs, Sql, sqlFunctionCall, statement } from '@app/database';
import type { AuditedTarget } from '@app/audit';
import type {
  FoundChallengeRow,
  OtpIssueArgs,
  OtpIssueRow,
  OtpMarkArgs,
  OtpWrongCodeArgs,
  OtpWrongCodeRow,
} from '@app/otp';
import type { PreparedMessage } from '@app/notifications';

/** Whose code (the client, and the owner the engine keys its limits by) and from where. */
export interface Owner extends AuditedTarget {
  clientId: string;
  userId: string;
  ip: string;
}

export type RequestCodeRow =
  | Exclude<OtpIssueRow, { outcome: 'issued' }>
  | (Extract<OtpIssueRow, { outcome: 'issued' }> & { message_id: string });

export type VerifiedRow =
  | {
      outcome: 'verified';
      phone_user_id: string;
      phone_user_created: boolean;
      session_id: string;
    }
  | { outcome: 'changed' };

const AUDIT_ARGS = {
  clientId: 'varchar',
  userId: 'varchar',
  targetMasked: 'varchar',
  targetHash: 'bytea',
  ip: 'varchar',
} as const;

const REQUEST_CODE = sqlFunctionCall<Owner & { issue: object; message: object }, RequestCodeRow>(
  'otp_request_code',
  { ...AUDIT_ARGS, issue: 'jsonb', message: 'jsonb' },
);
const WRONG_CODE = sqlFunctionCall<Owner & { count: object; challengeId: string }, OtpWrongCodeRow>(
  'otp_wrong_code',
  { ...AUDIT_ARGS, count: 'jsonb', challengeId: 'uuid' },
);
const VERIFIED = sqlFunctionCall<
  Owner & { mark: object; session: object; challengeId: string; phone: string },
  VerifiedRow
>('app_auth_verified', {
  ...AUDIT_ARGS,
  mark: 'jsonb',
  session: 'jsonb',
  challengeId: 'uuid',
  phone: 'varchar',
});
/** The challenge a sign-in `token` names (its id), if it is this owner's and this phone's. */
const FIND = statement(
  `SELECT f.* FROM otp_challenges c
     CROSS JOIN LATERAL otp_find_challenge(c.client_id, c.user_id, c.target, c.auth_code,
                                           $4, $5, $6) f
    WHERE c.id = $1 AND c.client_id = $2 AND c.user_id = $3 AND c.target = $7
      AND f.challenge_id = c.id`,
);
const PHONE_USER = statement(`SELECT created_at FROM phone_users WHERE id = $1`);

/** The app sign-in's transactions, each one database call (the functions of `sql/`). */
@Injectable()
export class AppAuthRepository {
  constructor(private readonly sql: Sql) {}

  requestCode(
    owner: Owner,
    issue: OtpIssueArgs,
    message: PreparedMessage,
  ): Promise<RequestCodeRow> {
    return this.sql.call(REQUEST_CODE, {
      ...owner,
      issue: jsonArgs(issue),
      message: jsonArgs(message),
    });
  }

  async find(
    challengeId: string,
    owner: { clientId: string; userId: string; target: string },
    now: Date,
    maxAttempts: number,
    maxFailures: number,
  ): Promise<FoundChallengeRow> {
    const row = await this.sql.row<FoundChallengeRow>(FIND, [
      challengeId,
      owner.clientId,
      owner.userId,
      now,
      maxAttempts,
      maxFailures,
      owner.target,
    ]);
    return row ?? { challenge_id: null };
  }

  countWrongCode(owner: Owner, count: OtpWrongCodeArgs): Promise<OtpWrongCodeRow> {
    return this.sql.call(WRONG_CODE, {
      ...owner,
      count: jsonArgs(count),
      challengeId: count.challengeId,
    });
  }

  verified(
    owner: Owner,
    mark: OtpMarkArgs,
    session: Record<string, unknown>,
    phone: string,
  ): Promise<VerifiedRow> {
    return this.sql.call(VERIFIED, {
      ...owner,
      mark: jsonArgs(mark),
      session,
      challengeId: mark.challengeId,
      phone,
    });
  }

  async phoneUserCreatedAt(phoneUserId: string): Promise<Date | undefined> {
    const row = await this.sql.row<{ created_at: Date }>(PHONE_USER, [phoneUserId]);
    return row?.created_at;
  }
}
