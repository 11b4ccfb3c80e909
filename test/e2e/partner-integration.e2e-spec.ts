import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign } from 'jsonwebtoken';
import { registeredClient } from '../support/admin';
import { lastCodeFor, OtpClient, uniquePhone } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';

const ROOT = join(__dirname, '..', '..');
const PAGE = readFileSync(join(ROOT, 'docs', 'partner-integration.md'), 'utf8');

/** The code block that follows `<!-- example: name -->` in docs/partner-integration.md. */
function example(name: string): string {
  const match = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(
    PAGE,
  );
  if (!match) throw new Error(`no ${name} example in docs/partner-integration.md`);
  return match[1];
}

/** Whether a command runs here (the Go example runs only where Go is installed). */
function available(command: string): boolean {
  try {
    execFileSync(command, ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Inputs {
  clientId: string;
  kid: string;
  secret: string;
  userId: string;
  now?: number;
}

/** Each language's example as a partner would run it: a file, its inputs in the environment. */
const RUNNERS: Record<string, { file: string; command: (file: string) => [string, string[]] }> = {
  node: { file: 'sign-partner-token.js', command: (file) => [process.execPath, [file]] },
  python: { file: 'sign_partner_token.py', command: (file) => ['python3', [file]] },
  go: { file: 'sign_partner_token.go', command: (file) => ['go', ['run', file]] },
};

describe('docs/partner-integration.md: a partner backend signing its own tokens', () => {
  let t: TestApp;
  let scratch: string;

  beforeAll(async () => {
    t = await startTestApp();
    scratch = mkdtempSync(join(tmpdir(), 'otp-link-partner-'));
  });

  afterAll(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  function runExample(language: string, inputs: Inputs): Promise<string> {
    const runner = RUNNERS[language];
    const file = join(scratch, runner.file);
    writeFileSync(file, example(language));
    const [command, args] = runner.command(file);
    return new Promise((resolve, reject) =>
      execFile(
        command,
        [...args, inputs.userId],
        {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? scratch,
            // The Node example's `require('jsonwebtoken')`, as after `npm install jsonwebtoken`.
            NODE_PATH: join(ROOT, 'node_modules'),
            GOCACHE: join(scratch, 'go-cache'),
            OTP_LINK_CLIENT_ID: inputs.clientId,
            OTP_LINK_KID: inputs.kid,
            OTP_LINK_JWT_SECRET: inputs.secret,
            ...(inputs.now === undefined ? {} : { TOKEN_NOW: String(inputs.now) }),
          },
        },
        (error, stdout, stderr) =>
          error
            ? reject(new Error(`${language}: ${stderr || error.message}`))
            : resolve(stdout.trim()),
      ),
    );
  }

  it("the Node example's token, with a registered client's key, links a phone", async () => {
    const client = await registeredClient(t);
    const token = await runExample('node', {
      clientId: client.id,
      kid: client.kid,
      secret: client.jwtSecret,
      userId: 'player-1',
    });
    const user = new OtpClient(t, token);
    expect((await user.linkedMobileNumber()).body).toMatchObject({ error: 'RECORD_NOT_FOUND' });

    const phone = uniquePhone();
    const registered = await user.register(phone.national);
    expect(registered.status).toBe(200);
    const { code } = lastCodeFor(t.messagesFile, phone.e164);
    const verified = await user.verify(phone.national, String(registered.body.authCode), code);
    expect(verified.status).toBe(200);
    expect((await user.linkedMobileNumber()).body).toMatchObject({
      UserID: 'player-1',
      NameSpacedThirdPartyUserID: `${client.id}___player-1`,
    });
  });

  it('Python (and Go, where installed) sign the very token Node signs', async () => {
    const inputs: Inputs = {
      clientId: 'ludo-studio',
      kid: 'a1b2c3d4e5f6',
      secret: 'q2m0Zt3Kx8bW9sYy1rVvL0pN4cE7hJ6fGdUaTiOkXw',
      userId: 'Jürgen-42',
      now: 1707041592,
    };
    const node = await runExample('node', inputs);
    const [header, payload] = node.split('.').map((part) => Buffer.from(part, 'base64url'));
    expect(JSON.parse(header.toString())).toEqual({ alg: 'HS256', typ: 'JWT', kid: inputs.kid });
    expect(JSON.parse(payload.toString())).toEqual({
      third_party_client_id: inputs.clientId,
      user_id: inputs.userId,
      third_party_client_name: 'Ludo',
      iat: inputs.now,
      exp: inputs.now! + 3600,
    });
    const languages = ['python', ...(available('go') ? ['go'] : [])];
    for (const language of languages) {
      expect({ language, token: await runExample(language, inputs) }).toEqual({
        language,
        token: node,
      });
    }
  });

  it("refuses a token signed with the secret's base64-decoded bytes, as the page warns", async () => {
    const client = await registeredClient(t);
    const now = Math.floor(Date.now() / 1000);
    const decoded = sign(
      { third_party_client_id: client.id, user_id: 'player-2', iat: now, exp: now + 600 },
      Buffer.from(client.jwtSecret, 'base64url'),
      { algorithm: 'HS256', keyid: client.kid },
    );
    expect((await new OtpClient(t, decoded).linkedMobileNumber()).body).toMatchObject({
      statusCode: 401,
      message: 'invalid token signature',
    });
  });

  it('lists the claims the verifier reads, required ones first', () => {
    const claims = [...PAGE.matchAll(/^\| `([a-z_]+)`(?: or `([a-z_]+)`)?/gm)].flatMap(
      ([, first, second]) => (second ? [first, second] : [first]),
    );
    expect(claims.slice(0, 5)).toEqual([
      'user_id',
      'sub',
      'third_party_client_id',
      'client_id',
      'exp',
    ]);
    for (const claim of [
      'third_party_client_name',
      'wallet_address',
      'namespaced_third_party_user_id',
    ]) {
      expect(claims).toContain(claim);
    }
  });
});
