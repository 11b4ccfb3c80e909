export { FlowsModule } from './flows.module';
export { AuthFlow } from './entities/auth-flow.entity';
export { FLOWS_FUNCTIONS } from './flows-functions';
export { FlowRetentionJob } from './flow-retention.job';
export {
  BUILT_IN_FLOWS,
  FLOW_MODULES,
  FlowsFileError,
  parseFlows,
  readFlowsFile,
} from './flow-definitions';
export type { FlowModule } from './flow-definitions';
export { FLOW_MESSAGES, EMAIL_VALIDATION, PHONE_VALIDATION } from './sign-in-flows';
export { SESSION_COOKIE } from './flows.controller';
export { DEFAULT_REALM } from './realms';
