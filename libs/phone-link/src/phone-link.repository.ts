import { Injectable } from '@nestjs/common';
import { AppError, PartnerUserRef } from '@app/common';
import { jsonArgs, Sql, sqlFunctionCall } from '@app/database';
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
import { linkConflict } from '@app/users';
import type { PreparedMessage } from '@app/notifications';

/** Where the request came from, for the events the transactions write. */
export interface AuditArgs extends AuditedTarget {
  ip: string;
}

/** Whose code, to which phone: what the use case itself needs of a request. */
type Owner = PartnerUserRef & { phone: string };

/** Whether the user is out of link probes: LinkRepository.probeArgs, passed through. */
type ProbeArgs = Record<string, unknown>;

/** phone_link_request_code: the linking rules' question, otp_issue's and the message's arguments. */
export interface RequestCodeArgs extends Owner, AuditArgs {
  probes: ProbeArgs;
  issue: OtpIssueArgs;
  message: PreparedMessage;
}

/** otp_issue's answer, or the linking rules' refusal; an issued code comes with its message. */
export type RequestCodeRow =
  | { outcome: 'account_linked' }
  | { outcome: 'probes_exhausted'; retry_after: number }
  | { outcome: 'phone_linked' }
  | Exclude<OtpIssueRow, { outcome: 'issued' }>
  | (Extract<OtpIssueRow, { outcome: 'issued' }> & { phone_known: boolean; message_id: string });

/** link_state's view of the user and the phone, and the challenge found (otp_find_challenge). */
export type VerifyStateRow = FoundChallengeRow & {
  account_linked: boolean;
  /** The challenge that made the user's link, and the link's answer and time, when linked. */
  link_challenge_id: string | null;
  link_phone_user_id: string | null;
  link_phone_user_created: boolean | null;
  link_linked_at: Date | null;
  /** The phone is linked to another user of the same client. */
  phone_linked: boolean;
  /** The user is out of link probes: seconds to wait; null when not. */
  probes_retry_after: number | null;
};

export type VerifyStateArgs = OtpFindArgs & { probes: ProbeArgs };

export interface WrongCodeArgs extends PartnerUserRef, AuditArgs {
  count: OtpWrongCodeArgs;
}

export interface VerifiedArgs extends Owner, AuditArgs {
  mark: OtpMarkArgs;
  walletAddress: string | null;
  clientName: string | null;
}

export type VerifiedRow =
  | { outcome: 'linked'; phone_user_id: string; phone_user_created: boolean; linked_at: Date }
  | { outcome: 'changed' };

const AUDIT_ARGS = { targetMasked: 'varchar', targetHash: 'bytea', ip: 'varchar' } as const;
const OWNER_ARGS = { clientId: 'varchar', userId: 'varchar', phone: 'varchar' } as const;

const REQUEST_CODE = sqlFunctionCall<
  Omit<RequestCodeArgs, 'issue' | 'message'> & { issue: object; message: object },
  RequestCodeRow
>('phone_link_request_code', {
  ...OWNER_ARGS,
  ...AUDIT_ARGS,
  probes: 'jsonb',
  issue: 'jsonb',
  message: 'jsonb',
});
const VERIFY_STATE = sqlFunctionCall<VerifyStateArgs, VerifyStateRow>('phone_link_verify_state', {
  ...OTP_FIND_ARGS,
  probes: 'jsonb',
});
const WRONG_CODE = sqlFunctionCall<
  Omit<WrongCodeArgs, 'count'> & { count: object; challengeId: string },
  OtpWrongCodeRow
>('otp_wrong_code', {
  ...AUDIT_ARGS,
  clientId: 'varchar',
  userId: 'varchar',
  count: 'jsonb',
  challengeId: 'uuid',
});
const VERIFIED = sqlFunctionCall<
  Omit<VerifiedArgs, 'mark'> & { mark: object; challengeId: string },
  VerifiedRow
>('phone_link_verified', {
  ...OWNER_ARGS,
  ...AUDIT_ARGS,
  mark: 'jsonb',
  challengeId: 'uuid',
  walletAddress: 'varchar',
  clientName: 'varchar',
});

/**
 * The phone link's transactions, each one database call (the functions of `sql/`). The libs'
 * primitives get their arguments as the libs built them, passed through as one value each.
 */
@Injectable()
export class PhoneLinkRepository {
  constructor(private readonly sql: Sql) {}

  /** A code and its message queued, unless the linking rules, the cooldown or a limit refuse. */
  requestCode({ issue, message, ...rest }: RequestCodeArgs): Promise<RequestCodeRow> {
    return this.sql.call(REQUEST_CODE, {
      ...rest,
      issue: jsonArgs(issue),
      message: jsonArgs(message),
    });
  }

  /** The user's link state and the challenge the submitted auth code names. */
  verifyState(args: VerifyStateArgs): Promise<VerifyStateRow> {
    return this.sql.call(VERIFY_STATE, args);
  }

  /** A wrong code counted, with its events. */
  countWrongCode({ count, ...rest }: WrongCodeArgs): Promise<OtpWrongCodeRow> {
    return this.sql.call(WRONG_CODE, {
      ...rest,
      count: jsonArgs(count),
      challengeId: count.challengeId,
    });
  }

  /**
   * The challenge verified and the user linked, with the events. A race lost to the linking
   * rules' unique constraints is ACCOUNT_ALREADY_LINKED / PHONE_ALREADY_LINKED, nothing kept.
   */
  async linkVerified({ mark, ...rest }: VerifiedArgs): Promise<VerifiedRow> {
    try {
      return await this.sql.call(VERIFIED, {
        ...rest,
        mark: jsonArgs(mark),
        challengeId: mark.challengeId,
      });
    } catch (error) {
      const code = linkConflict(error);
      if (code) throw new AppError(code);
      throw error;
    }
  }
}
