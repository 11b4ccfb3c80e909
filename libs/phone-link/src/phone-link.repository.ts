import { Injectable } from '@nestjs/common';
import { AppError, PartnerUserRef } from '@app/common';
import { Sql, sqlFunctionCall } from '@app/database';
import type { AuditedTarget } from '@app/audit';
import {
  FoundChallengeRow,
  OTP_FIND_ARGS,
  OTP_ISSUE_ARGS,
  OTP_MARK_ARGS,
  OTP_WRONG_CODE_ARGS,
  OtpFindArgs,
  OtpIssueArgs,
  OtpIssueRow,
  OtpMarkArgs,
  OtpWrongCodeArgs,
  OtpWrongCodeRow,
} from '@app/otp';
import { linkConflict } from '@app/users';
import type { MessageAudit } from '@app/notifications';

/** Where the request came from, for the events the transactions write. */
interface AuditArgs extends AuditedTarget {
  ip: string;
}

/** phone_link_request_code: otp_issue's arguments, the message's and the audit event's. */
export type RequestCodeArgs = OtpIssueArgs &
  AuditArgs & { payload: Buffer; leaseUntil: Date; messageAudit: MessageAudit };

/** otp_issue's answer, or the linking rules' refusal; an issued code comes with its message. */
export type RequestCodeRow =
  | { outcome: 'account_linked' }
  | { outcome: 'phone_linked' }
  | Exclude<OtpIssueRow, { outcome: 'issued' }>
  | (Extract<OtpIssueRow, { outcome: 'issued' }> & { phone_known: boolean; message_id: string });

/** link_state's view of the user and the phone, and the challenge found (otp_find_challenge). */
export type VerifyStateRow = FoundChallengeRow & {
  account_linked: boolean;
  /** The challenge that made the user's link, and the link's answer, when linked. */
  link_challenge_id: string | null;
  link_phone_user_id: string | null;
  link_phone_user_created: boolean | null;
  /** The phone is linked to another user of the same client. */
  phone_linked: boolean;
};

export type WrongCodeArgs = OtpWrongCodeArgs & AuditArgs & PartnerUserRef;

export type VerifiedArgs = OtpMarkArgs &
  AuditArgs &
  PartnerUserRef & {
    target: string;
    walletAddress: string | null;
    clientName: string | null;
  };

export type VerifiedRow =
  | { outcome: 'linked'; phone_user_id: string; phone_user_created: boolean }
  | { outcome: 'changed' };

const AUDIT_ARGS = { targetMasked: 'varchar', targetHash: 'bytea', ip: 'varchar' } as const;

const REQUEST_CODE = sqlFunctionCall<RequestCodeArgs, RequestCodeRow>('phone_link_request_code', {
  ...OTP_ISSUE_ARGS,
  ...AUDIT_ARGS,
  payload: 'bytea',
  leaseUntil: 'timestamptz',
  messageAudit: 'jsonb',
});
const VERIFY_STATE = sqlFunctionCall<OtpFindArgs, VerifyStateRow>(
  'phone_link_verify_state',
  OTP_FIND_ARGS,
);
const WRONG_CODE = sqlFunctionCall<WrongCodeArgs, OtpWrongCodeRow>('phone_link_wrong_code', {
  ...OTP_WRONG_CODE_ARGS,
  ...AUDIT_ARGS,
  clientId: 'varchar',
  userId: 'varchar',
});
const VERIFIED = sqlFunctionCall<VerifiedArgs, VerifiedRow>('phone_link_verified', {
  ...OTP_MARK_ARGS,
  ...AUDIT_ARGS,
  clientId: 'varchar',
  userId: 'varchar',
  target: 'varchar',
  walletAddress: 'varchar',
  clientName: 'varchar',
});

/** The phone link's transactions, each one database call (the functions of `sql/`). */
@Injectable()
export class PhoneLinkRepository {
  constructor(private readonly sql: Sql) {}

  /** A code and its message queued, unless the linking rules, the cooldown or a limit refuse. */
  requestCode(args: RequestCodeArgs): Promise<RequestCodeRow> {
    return this.sql.call(REQUEST_CODE, args);
  }

  /** The user's link state and the challenge the submitted auth code names. */
  verifyState(args: OtpFindArgs): Promise<VerifyStateRow> {
    return this.sql.call(VERIFY_STATE, args);
  }

  /** A wrong code counted, with its events. */
  countWrongCode(args: WrongCodeArgs): Promise<OtpWrongCodeRow> {
    return this.sql.call(WRONG_CODE, args);
  }

  /**
   * The challenge verified and the user linked, with the events. A race lost to the linking
   * rules' unique constraints is ACCOUNT_ALREADY_LINKED / PHONE_ALREADY_LINKED, nothing kept.
   */
  async linkVerified(args: VerifiedArgs): Promise<VerifiedRow> {
    try {
      return await this.sql.call(VERIFIED, args);
    } catch (error) {
      const code = linkConflict(error);
      if (code) throw new AppError(code);
      throw error;
    }
  }
}
