export { UsersModule } from './users.module';
export { LinkRepository, linkConflict } from './link.repository';
export type { LinkedPhone, LinkProbeOutcome, UnlinkBy } from './link.repository';
export { USERS_FUNCTIONS } from './users-functions';
export { PhoneUser } from './entities/phone-user.entity';
export { ThirdPartyUserRecord } from './entities/third-party-user.entity';
export { Link } from './entities/link.entity';
export { LinkProbeRetentionJob, LINK_PROBE_RETENTION_MS } from './link-probe-retention.job';
export { LinkProbeRecord } from './entities/link-probe.entity';
