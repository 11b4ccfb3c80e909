import { join } from 'node:path';
import { sqlFunctionsIn } from '@app/database';

/** The linking rules' database functions (`sql/`), applied by the migration runner. */
export const USERS_FUNCTIONS = sqlFunctionsIn(join(__dirname, 'sql'));
