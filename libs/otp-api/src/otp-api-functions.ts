import { join } from 'node:path';
import { sqlFunctionsIn } from '@app/database';

/** The OTP API's transaction (`sql/`), applied by the migration runner. */
export const OTP_API_FUNCTIONS = sqlFunctionsIn(join(__dirname, 'sql'));
