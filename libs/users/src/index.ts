export { UsersModule } from './users.module';
export { PhoneUser } from './entities/phone-user.entity';
export { ThirdPartyUserRecord } from './entities/third-party-user.entity';
export { Link } from './entities/link.entity';
