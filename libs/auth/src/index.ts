export { AuthModule } from './auth.module';
export { PartnerJwtStrategy } from './http/partner-jwt.guard';
export * from './jwt/partner-jwt.verifier';
export type { ThirdPartyUser } from './jwt/third-party-user';
