import { join } from 'node:path';
import { sqlFunctionsIn } from '@app/database';

/** The challenge engine's database functions (`sql/`), applied by the migration runner. */
export const OTP_FUNCTIONS = sqlFunctionsIn(join(__dirname, 'sql'));
