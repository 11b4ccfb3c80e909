export { HooksModule } from './hooks.module';
