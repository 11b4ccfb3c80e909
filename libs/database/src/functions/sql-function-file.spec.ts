import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqlFunctionFile, sqlFunctionsIn } from './sql-function-file';
import { parameterName, sqlFunctionCall } from './sql-function-call';

describe('sqlFunctionFile', () => {
  const create =
    'CREATE FUNCTION otp_probe(p_x integer) RETURNS integer LANGUAGE sql AS $$ SELECT p_x $$;';

  it('names the function after its file and checksums the text', () => {
    const file = sqlFunctionFile('otp_probe', create);
    expect(file).toMatchObject({ name: 'otp_probe', sql: create });
    expect(file.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(sqlFunctionFile('otp_probe', `${create}\n`).checksum).not.toBe(file.checksum);
  });

  it('refuses a file that does not create exactly the function it is named after', () => {
    expect(() => sqlFunctionFile('otp_other', create)).toThrow(/exactly one function, otp_other/);
    expect(() => sqlFunctionFile('otp_probe', `${create}\n${create}`)).toThrow(/exactly one/);
    expect(() => sqlFunctionFile('otp_probe', 'SELECT 1')).toThrow(/exactly one/);
    expect(() => sqlFunctionFile('Bad-Name', create)).toThrow(/not a function name/);
  });

  it('reads every .sql file of a directory, by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sql-functions-'));
    try {
      writeFileSync(
        join(dir, 'b_two.sql'),
        'CREATE FUNCTION b_two() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;',
      );
      writeFileSync(
        join(dir, 'a_one.sql'),
        'CREATE FUNCTION a_one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
      );
      writeFileSync(join(dir, 'notes.md'), 'not a function');
      expect(sqlFunctionsIn(dir).map((file) => file.name)).toEqual(['a_one', 'b_two']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sqlFunctionCall', () => {
  it('calls with named, typed arguments in a fixed order', () => {
    const call = sqlFunctionCall<{ clientId: string; maxPerTarget: number; now: Date }, object>(
      'otp_probe',
      { clientId: 'varchar', maxPerTarget: 'integer', now: 'timestamptz' },
    );
    expect(call.text).toBe(
      'SELECT * FROM otp_probe(p_client_id => $1::varchar, p_max_per_target => $2::integer, p_now => $3::timestamptz)',
    );
    expect(call.keys).toEqual(['clientId', 'maxPerTarget', 'now']);
    expect(call.name).toMatch(/^s_[0-9a-f]{16}$/);
  });

  it('maps camelCase names to the p_snake_case of the parameters', () => {
    expect(parameterName('codeHash')).toBe('p_code_hash');
    expect(parameterName('ip')).toBe('p_ip');
  });
});
