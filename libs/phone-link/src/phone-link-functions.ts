import { join } from 'node:path';
import { sqlFunctionsIn } from '@app/database';

/** The phone link's transactions (`sql/`), applied by the migration runner. */
export const PHONE_LINK_FUNCTIONS = sqlFunctionsIn(join(__dirname, 'sql'));
