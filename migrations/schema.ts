import { AuditEvent, AUDIT_FUNCTIONS } from '@app/audit';
import { OutboxMessage, NOTIFICATIONS_FUNCTIONS } from '@app/notifications';
import {
  OtpApiCode,
  OtpApiGuess,
  OtpApiLimit,
  OtpChallenge,
  OtpSend,
  OtpVerifyFailure,
  OTP_FUNCTIONS,
} from '@app/otp';
import {
  Link,
  LinkProbeRecord,
  PhoneUser,
  ThirdPartyUserRecord,
  USERS_FUNCTIONS,
} from '@app/users';
import { PartnerAppKey, PartnerClient, PartnerClientKey } from '@app/partners';
import { PHONE_LINK_FUNCTIONS } from '@app/phone-link';
import { OTP_API_FUNCTIONS } from '@app/otp-api';
import { AppSession, RefreshTokenRecord, SESSIONS_FUNCTIONS, TokenSigningKey } from '@app/sessions';
import { AuthFlow, FLOWS_FUNCTIONS } from '@app/flows';
import { APP_AUTH_FUNCTIONS } from '@app/app-auth';
import type { SchemaParts } from '@app/database';
import { MIGRATIONS } from './all';

/**
 * Everything the service keeps in its database: the entities (each lib's tables), the migrations
 * (one history) and each lib's functions (their current definitions). The apps, the migration
 * CLI and the tests share this list.
 */
export const SCHEMA: SchemaParts = {
  entities: [
    PhoneUser,
    ThirdPartyUserRecord,
    Link,
    LinkProbeRecord,
    OtpChallenge,
    OtpSend,
    OtpVerifyFailure,
    OtpApiCode,
    OtpApiLimit,
    OtpApiGuess,
    OutboxMessage,
    AuditEvent,
    PartnerClient,
    PartnerClientKey,
    PartnerAppKey,
    AppSession,
    RefreshTokenRecord,
    TokenSigningKey,
    AuthFlow,
  ],
  migrations: MIGRATIONS,
  functions: [
    ...AUDIT_FUNCTIONS,
    ...NOTIFICATIONS_FUNCTIONS,
    ...USERS_FUNCTIONS,
    ...OTP_FUNCTIONS,
    ...PHONE_LINK_FUNCTIONS,
    ...OTP_API_FUNCTIONS,
    ...SESSIONS_FUNCTIONS,
    ...FLOWS_FUNCTIONS,
    ...APP_AUTH_FUNCTIONS,
  ],
};
