export { PhoneLinkModule } from './phone-link.module';
export { PhoneLinkFlow } from './phone-link.flow';
export type {
  CodeSent,
  Linked,
  LinkedMobileNumber,
  LinkingUser,
  PhoneInput,
  VerifyInput,
} from './phone-link.flow';
export { PHONE_LINK_FUNCTIONS } from './phone-link-functions';
