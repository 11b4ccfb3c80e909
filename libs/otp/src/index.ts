export { OtpModule } from './otp.module';
export { OtpChallenge } from './entities/otp-challenge.entity';
export { OtpSend } from './entities/otp-send.entity';
