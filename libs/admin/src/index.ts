export { AdminModule } from './admin.module';
export { AdminService } from './admin.service';
export type { LinkQuery, LinkView, MintedToken } from './admin.service';
export { runAdminCli, EXIT } from './cli/admin-cli';
export type { CliContext, CliResult } from './cli/admin-cli';
export { EmbeddedCliChannel, isCliRequest } from './cli/control-channel';
export type { CliRequest } from './cli/control-channel';
