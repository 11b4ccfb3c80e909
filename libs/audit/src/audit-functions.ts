import { join } from 'node:path';
import { sqlFunctionsIn } from '@app/database';

/** The audit trail's database functions (`sql/`), applied by the migration runner. */
export const AUDIT_FUNCTIONS = sqlFunctionsIn(join(__dirname, 'sql'));
