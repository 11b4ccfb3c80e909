import { join } from 'node:path';
import { sqlFunctionsIn } from '@app/database';

/** The sign-in flows' database functions (`sql/`), applied by the migration runner. */
export const FLOWS_FUNCTIONS = sqlFunctionsIn(join(__dirname, 'sql'));
