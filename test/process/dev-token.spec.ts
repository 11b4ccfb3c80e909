import { SystemClock } from '@app/common';
import { DEV_PARTNER_CLIENT_ID, DEV_PARTNER_JWT_SECRET } from '@app/config';
import { PartnerJwtVerifier } from '@app/auth';
import { runTsProcess } from '../support/server-process';

const SCRIPT = 'scripts/mint-dev-token.ts';

/** `npm run token`, the development token script, as a new user runs it. */
describe('npm run token', () => {
  const verifier = new PartnerJwtVerifier(DEV_PARTNER_JWT_SECRET, new SystemClock());

  it('prints its usage with --help, and exits 0', async () => {
    const help = await runTsProcess(SCRIPT, ['--help'], {});
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    for (const option of ['--user', '--client', '--name', '--hours', DEV_PARTNER_CLIENT_ID]) {
      expect(help.stdout).toContain(option);
    }
  });

  it('mints tokens for the same partner user every time, and names the client on stderr', async () => {
    const first = await runTsProcess(SCRIPT, ['--user', 'qwerty'], {});
    const second = await runTsProcess(SCRIPT, ['--user', 'qwerty'], {});
    for (const run of [first, second]) {
      expect(run.code).toBe(0);
      expect(run.stderr).toContain(`client id: ${DEV_PARTNER_CLIENT_ID}`);
    }
    const users = [first, second].map((run) => verifier.verify(run.stdout.trim()));
    expect(users[0]).toMatchObject({ clientId: DEV_PARTNER_CLIENT_ID, userId: 'qwerty' });
    expect(users[1].namespacedId).toBe(users[0].namespacedId);

    const other = await runTsProcess(SCRIPT, ['--client', 'other-studio', '--user', 'u1'], {});
    expect(verifier.verify(other.stdout.trim())).toMatchObject({
      clientId: 'other-studio',
      userId: 'u1',
    });
  });

  it('refuses an unknown option with one line and the usage, exit 2, no stack', async () => {
    const run = await runTsProcess(SCRIPT, ['--nope'], {});
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain("Unknown option '--nope'");
    expect(run.stderr).toContain('--client');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
