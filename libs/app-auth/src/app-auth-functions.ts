import { join } from 'node:path';
import { sqlFunctionsIn } from '@app/database';

/** The app sign-in's transactions (`sql/`), applied by the migration runner. */
export const APP_AUTH_FUNCTIONS = sqlFunctionsIn(join(__dirname, 'sql'));
