export { OtpApiModule } from './otp-api.module';
export { OTP_API_FUNCTIONS } from './otp-api-functions';
export { basicCredentials } from './http/basic-auth.guard';
