export { MIGRATIONS } from './all';
export { SCHEMA } from './schema';
