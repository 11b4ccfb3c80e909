import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { lastCodeFor, uniquePhone, wrongCode } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';
import { newPartnerUser } from '../support/tokens';

type Phone = { phone_number: string; countryCode: string };
type State = { state: string; [field: string]: unknown };
interface Guide {
  register(token: string, phone: Phone): Promise<State>;
  resend(token: string, phone: Phone): Promise<State>;
  verify(token: string, phone: Phone, authCode: unknown, otp: unknown): Promise<State>;
}

/** The README's fetch snippet, pointed at `url`, evaluated as a page would run it. */
function guide(url: string): Guide {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const match = /<!-- example: frontend -->\s*```js\n([\s\S]*?)\n```/.exec(readme);
  if (!match) throw new Error('no frontend example in the README');
  const code = match[1].replace(/^const API = '[^']*';/m, `const API = ${JSON.stringify(url)};`);
  if (code === match[1]) throw new Error('the example does not start with its API constant');
  return runInNewContext(`${code}\n({ register, resend, verify })`, { fetch }) as Guide;
}

/** The README's frontend guide: its states, driven against the real API. */
describe('README frontend guide', () => {
  let t: TestApp;
  let api: Guide;

  beforeAll(async () => {
    t = await startTestApp({ OTP_MAX_ATTEMPTS: '3' });
    api = guide(t.url);
  });

  afterAll(async () => {
    await t.close();
  });

  it('code → wait → code with attemptsLeft → locked at attemptsLeft 0 → a new code → verified', async () => {
    const { token } = newPartnerUser();
    const { national, e164 } = uniquePhone();
    const phone = { phone_number: national, countryCode: '+91' };

    const registered = await api.register(token, phone);
    expect(registered).toMatchObject({ state: 'code', attemptsLeft: 3 });
    const tooSoon = await api.resend(token, phone);
    expect(tooSoon).toMatchObject({ state: 'wait', error: 'RESEND_TOO_SOON' });
    expect(tooSoon.retryAfter).toBeGreaterThan(0);

    const { code } = lastCodeFor(t.messagesFile, e164);
    const wrong = wrongCode(code);
    const states = [];
    for (let i = 0; i < 3; i++) {
      const answer = await api.verify(token, phone, registered.authCode, wrong);
      states.push([answer.state, answer.attemptsLeft]);
    }
    expect(states).toEqual([
      ['code', 2],
      ['code', 1],
      ['locked', 0],
    ]);
    // Locked means locked: the right code too.
    expect(await api.verify(token, phone, registered.authCode, code)).toMatchObject({
      state: 'locked',
      error: 'TOO_MANY_ATTEMPTS',
    });

    const again = await api.register(token, phone);
    expect(again.state).toBe('code');
    expect(again.authCode).not.toBe(registered.authCode);
    const fresh = lastCodeFor(t.messagesFile, e164).code;
    expect(await api.verify(token, phone, again.authCode, fresh)).toMatchObject({
      state: 'verified',
      message: 'Users linked successfully',
    });
  });

  it('sends the user back to the phone form on a bad number', async () => {
    const { token } = newPartnerUser();
    const answer = await api.register(token, { phone_number: '12', countryCode: '+91' });
    expect(answer).toMatchObject({ state: 'phone', error: 'VALIDATION_FAILED' });
  });
});
