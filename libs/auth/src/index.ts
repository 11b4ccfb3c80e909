export { AuthModule } from './auth.module';
export * from './jwt/partner-jwt.verifier';
export type { ThirdPartyUser } from './jwt/third-party-user';
