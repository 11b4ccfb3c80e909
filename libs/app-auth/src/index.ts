export { AppAuthModule } from './app-auth.module';
export { APP_AUTH_FUNCTIONS } from './app-auth-functions';
