import { join } from 'node:path';
import { sqlFunctionsIn } from '@app/database';

/** The outbox's database functions (`sql/`), applied by the migration runner. */
export const NOTIFICATIONS_FUNCTIONS = sqlFunctionsIn(join(__dirname, 'sql'));
