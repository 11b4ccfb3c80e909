export * from './app-config';
export * from './config.module';

export type { Env } from './env-parsers';
export { readEnvironment } from './read-environment';
