export { UsersModule } from './users.module';
export { LinkService } from './link.service';
export type { LinkedPhone, PartnerUserRef, UnlinkBy } from './link.service';
export { PhoneUser } from './entities/phone-user.entity';
export { ThirdPartyUserRecord } from './entities/third-party-user.entity';
export { Link } from './entities/link.entity';
