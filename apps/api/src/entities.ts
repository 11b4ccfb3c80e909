import { AuditEvent } from '@app/audit';
import { OutboxMessage } from '@app/notifications';
import { OtpChallenge, OtpSend, OtpVerifyFailure } from '@app/otp';
import { Link, PhoneUser, ThirdPartyUserRecord } from '@app/users';
import { PartnerClient, PartnerClientKey } from '@app/partners';
import { MIGRATIONS } from '@app/migrations';
import type { SchemaParts } from '@app/database';

/** Every entity and migration of the service: the app and the migration CLI share this list. */
export const SCHEMA: SchemaParts = {
  entities: [
    PhoneUser,
    ThirdPartyUserRecord,
    Link,
    OtpChallenge,
    OtpSend,
    OtpVerifyFailure,
    OutboxMessage,
    AuditEvent,
    PartnerClient,
    PartnerClientKey,
  ],
  migrations: MIGRATIONS,
};
