import { join } from 'node:path';
import { sqlFunctionsIn } from '@app/database';

/** The sessions' database functions (`sql/`), applied by the migration runner. */
export const SESSIONS_FUNCTIONS = sqlFunctionsIn(join(__dirname, 'sql'));
