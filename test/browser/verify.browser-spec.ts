import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { OtpLinkError, type OtpLinkErrorCode } from '@otp-link/client';
import { ERROR_CODES, errorSentence } from '../../packages/element/src/messages';
import { BROWSER_RESULTS, chromiumPath, launchBrowser } from '../support/browser';
import { lastCodeFor, uniquePhone, wrongCode } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';

const CHROMIUM = chromiumPath();
// Without a browser these are skipped; `npm test` prints why (test/support/skipped-suites.ts).
const describeInBrowser = CHROMIUM ? describe : describe.skip;

const AXE_SOURCE = (): string => readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: unknown[];
}

/** The element's shadow root, for the few checks locators cannot make. */
const SHADOW = 'document.querySelector("otp-link-verify").shadowRoot';

/**
 * The reference page (/, development only) in Debian's Chromium: a person's whole flow with the
 * code read from the file driver, every error sentence, keyboard only, phone-sized and zoomed
 * screens, and an axe-core scan of each state. Screenshots and axe results go to
 * test-results/browser/.
 */
describeInBrowser('<otp-link-verify> on the reference page, in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const axeResults: Record<string, Array<Pick<AxeViolation, 'id' | 'impact' | 'help'>>> = {};

  beforeAll(async () => {
    t = await startTestApp({ OTP_RESEND_COOLDOWN_SECONDS: '30' });
    browser = await launchBrowser(CHROMIUM as string);
  });

  afterAll(async () => {
    writeFileSync(join(BROWSER_RESULTS, 'axe-results.json'), JSON.stringify(axeResults, null, 2));
    await browser?.close();
    await t?.close();
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  /** A fresh page on / (a new development user), its element ready to take a number. */
  async function openPage(options: BrowserContextOptions = {}): Promise<Page> {
    // bypassCSP: axe-core is injected as an inline script, which the page's policy forbids.
    const context = await browser.newContext({ bypassCSP: true, ...options });
    contexts.push(context);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${t.url}/`);
    await page.locator('#user').filter({ hasText: /^dev-/ }).waitFor();
    // The country list comes from the config endpoint: ready when India is in it.
    await page.getByLabel('Country').locator('option[value="IN"]').waitFor({ state: 'attached' });
    expect(problems).toEqual([]);
    return page;
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(BROWSER_RESULTS, `${name}.png`), fullPage: true });
  }

  /** axe-core on the whole page (the element's shadow DOM included); serious/critical must be none. */
  async function axe(page: Page, state: string): Promise<void> {
    if (!(await page.evaluate('typeof axe !== "undefined"'))) {
      await page.addScriptTag({ content: AXE_SOURCE() });
    }
    const violations = await page.evaluate<AxeViolation[]>(
      'axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)',
    );
    axeResults[state] = violations.map(({ id, impact, help }) => ({ id, impact, help }));
    const grave = violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map(({ id, impact, help }) => ({ id, impact, help }));
    expect({ state, grave }).toEqual({ state, grave: [] });
  }

  const state = (page: Page) => page.locator('otp-link-verify').getAttribute('state');
  const alert = (page: Page) => page.getByRole('alert');

  async function sendCode(page: Page, national: string): Promise<void> {
    await page.getByLabel('Phone number').fill(national);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByLabel('Verification code').waitFor();
  }

  it('takes a person from phone to linked, with the code from the inbox', async () => {
    const page = await openPage({ viewport: { width: 1024, height: 720 } });
    await axe(page, 'phone');
    await screenshot(page, '01-phone');

    const phone = uniquePhone();
    // Formatting as typed (libphonenumber-js): the field shows the national format.
    await page.getByLabel('Phone number').pressSequentially(phone.national);
    expect(await page.getByLabel('Phone number').inputValue()).toBe(
      `${phone.national.slice(0, 5)} ${phone.national.slice(5)}`,
    );
    await page.getByRole('button', { name: 'Send code' }).click();
    const code = page.getByLabel('Verification code');
    await code.waitFor();
    expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
    expect(await code.getAttribute('inputmode')).toBe('numeric');
    expect(await page.evaluate(`${SHADOW}.activeElement.id`)).toBe('code');
    await page.getByRole('status').filter({ hasText: 'Code sent to' }).waitFor();
    expect(await page.locator('#sent-to').textContent()).toMatch(
      /^We sent a code to \+91 \d{5} \d{5}\.$/,
    );
    expect(await page.locator('#attempts').textContent()).toBe('5 tries left.');
    const resend = page.getByRole('button', { name: /^Resend code in \d+ s$/ });
    expect(await resend.isDisabled()).toBe(true);

    // The development inbox shows the message the file driver wrote.
    const sent = lastCodeFor(t.messagesFile, phone.e164);
    await page.locator('#inbox-list li').filter({ hasText: sent.code }).waitFor();
    await axe(page, 'code');
    await screenshot(page, '02-code-sent-with-inbox');

    await code.fill(wrongCode(sent.code));
    await page.getByRole('button', { name: 'Verify' }).click();
    await alert(page).filter({ hasText: 'That code is wrong. You have 4 tries left.' }).waitFor();
    expect(await page.locator('#attempts').textContent()).toBe('4 tries left.');
    expect(await code.getAttribute('aria-invalid')).toBe('true');
    await axe(page, 'wrong-code');
    await screenshot(page, '03-wrong-code');

    await code.fill(sent.code);
    await page.getByRole('button', { name: 'Verify' }).click();
    const done = page.getByText(/^Your phone number \+91 \d{5} \d{5} is linked to your account\.$/);
    await done.waitFor();
    expect(await state(page)).toBe('verified');
    // The wrong code's sentence is gone with its step.
    expect(await page.locator('#error').textContent()).toBe('');
    expect(await page.evaluate(`${SHADOW}.activeElement.id`)).toBe('done');
    await axe(page, 'verified');
    await screenshot(page, '04-verified');

    // The service has the link, for the token the page was given.
    const linked = await page.evaluate(
      `document.querySelector("otp-link-verify").tokenProvider().then((token) =>
        fetch("/fe/users/account/linked-mobile-number", { headers: { "user-jwt-token": token } }))
        .then((response) => response.json())`,
    );
    expect(linked).toMatchObject({ LinkedPhone: phone.national, CountryCode: '+91' });
  });

  it('shows the service’s own errors: invalid number, locked code, expired code, phone taken', async () => {
    const page = await openPage();
    await page.getByLabel('Phone number').fill('12345');
    await page.getByRole('button', { name: 'Send code' }).click();
    await alert(page)
      .filter({ hasText: 'This phone number is not valid for the selected country.' })
      .waitFor();
    expect(await state(page)).toBe('phone');
    expect(await page.getByLabel('Phone number').getAttribute('aria-invalid')).toBe('true');
    await axe(page, 'invalid-phone');
    await screenshot(page, '05-error-invalid-phone');

    // Five wrong codes: the last one locks the challenge.
    const phone = uniquePhone();
    await sendCode(page, phone.national);
    const { code } = lastCodeFor(t.messagesFile, phone.e164);
    for (let left = 4; left >= 1; left--) {
      await page.getByLabel('Verification code').fill(wrongCode(code));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page
        .locator('#attempts')
        .filter({ hasText: `${left} ${left === 1 ? 'try' : 'tries'} left.` })
        .waitFor();
    }
    await page.getByLabel('Verification code').fill(wrongCode(code));
    await page.getByRole('button', { name: 'Verify' }).click();
    await alert(page)
      .filter({ hasText: 'That code is wrong, and it was the last try. Request a new code.' })
      .waitFor();
    expect(await state(page)).toBe('locked');
    await axe(page, 'locked');
    await screenshot(page, '06-locked');

    // A new code (a new challenge), then let it expire.
    await page.getByRole('button', { name: 'Request a new code' }).click();
    await page.getByLabel('Verification code').waitFor();
    const fresh = lastCodeFor(t.messagesFile, phone.e164);
    expect(fresh.code).not.toBe(code);
    t.clock.advance(301);
    await page.getByLabel('Verification code').fill(fresh.code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await alert(page).filter({ hasText: 'This code has expired. Request a new code.' }).waitFor();
    expect(await state(page)).toBe('locked');

    // The same phone for a second user of the same client, once the first has linked it.
    const first = await openPage();
    const shared = uniquePhone();
    await sendCode(first, shared.national);
    await first.getByLabel('Verification code').fill(lastCodeFor(t.messagesFile, shared.e164).code);
    await first.getByRole('button', { name: 'Verify' }).click();
    await first.getByText(/is linked to your account/).waitFor();
    const second = await openPage();
    await second.getByLabel('Phone number').fill(shared.national);
    await second.getByRole('button', { name: 'Send code' }).click();
    await alert(second)
      .filter({ hasText: 'This phone number is already linked to another account.' })
      .waitFor();
    await screenshot(second, '07-error-phone-already-linked');
  });

  it('has a clear sentence for every error code', async () => {
    const page = await openPage();
    let answer: { status: number; body: Record<string, unknown> } | 'offline' | 'html' = 'offline';
    await page.route('**/fe/users/auth/otp/register', async (route) => {
      if (answer === 'offline') return route.abort('internetdisconnected');
      if (answer === 'html') {
        return route.fulfill({
          status: 502,
          contentType: 'text/html',
          body: '<h1>Bad gateway</h1>',
        });
      }
      return route.fulfill({
        status: answer.status,
        contentType: 'application/json',
        headers: { 'retry-after': '1' },
        body: JSON.stringify(answer.body),
      });
    });
    const shown: Record<string, string> = {};
    for (const code of ERROR_CODES) {
      const extra = code === 'INVALID_OTP' ? { attemptsLeft: 2 } : {};
      const retry = code === 'RESEND_TOO_SOON' || code === 'RATE_LIMITED' ? { retryAfter: 1 } : {};
      if (code === 'NETWORK_ERROR') answer = 'offline';
      else if (code === 'BAD_RESPONSE') answer = 'html';
      else {
        answer = {
          status: 400,
          body: {
            statusCode: 400,
            error: code,
            message: `the service's ${code}`,
            ...extra,
            ...retry,
          },
        };
      }
      if ((await state(page)) === 'wait') {
        // The wait state counts retryAfter down, then offers to try again.
        await page.getByRole('button', { name: 'Try again', exact: true }).click();
      }
      await page.getByLabel('Phone number').fill('98765 43219');
      await page.getByRole('button', { name: 'Send code' }).click();
      const expected = errorSentence(new OtpLinkError(code, 'x', { ...extra, ...retry }));
      await alert(page).filter({ hasText: expected }).waitFor({ timeout: 5_000 });
      shown[code] = expected;
      if (code === 'RATE_LIMITED') {
        expect(await state(page)).toBe('wait');
        await axe(page, 'wait');
        await screenshot(page, '08-wait-rate-limited');
      }
      // Each sentence is a sentence, and says something other than the code itself.
      expect(expected).toMatch(/^[A-Z].*\.$/);
      expect(expected).not.toContain(code);
    }
    expect(Object.keys(shown).sort()).toEqual([...ERROR_CODES].sort());
    const specific = ERROR_CODES.filter(
      (code: OtpLinkErrorCode) => !shown[code].startsWith('Something went wrong'),
    );
    expect(specific.length).toBeGreaterThanOrEqual(18);
  });

  it('works with the keyboard alone', async () => {
    const page = await openPage();
    const phone = uniquePhone();
    // Tab from the top of the page: country, then number.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(`${SHADOW}.activeElement?.id`)).toBe('country');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(`${SHADOW}.activeElement?.id`)).toBe('phone');
    await page.keyboard.type(phone.national);
    await page.keyboard.press('Enter');
    await page.getByLabel('Verification code').waitFor();
    // Focus moved to the code field by itself.
    expect(await page.evaluate(`${SHADOW}.activeElement?.id`)).toBe('code');
    await page.keyboard.type(lastCodeFor(t.messagesFile, phone.e164).code);
    await page.keyboard.press('Enter');
    await page.getByText(/is linked to your account/).waitFor();
    expect(await page.evaluate(`${SHADOW}.activeElement?.id`)).toBe('done');
    await screenshot(page, '09-keyboard-verified');
  });

  it('fills and submits the code from the SMS where the browser has WebOTP', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    // Headless desktop Chromium receives no SMS: this stands in for the phone's SMS retriever.
    await context.addInitScript(`
      window.OTPCredential = window.OTPCredential || class OTPCredential {};
      window.__webOtpRequests = [];
      navigator.credentials.get = (options) => new Promise((resolve) => {
        window.__webOtpRequests.push(JSON.stringify(options.otp));
        window.__deliverSms = (code) => resolve({ type: 'otp', code });
      });
    `);
    const page = await context.newPage();
    await page.goto(`${t.url}/`);
    await page.locator('#user').filter({ hasText: /^dev-/ }).waitFor();
    const phone = uniquePhone();
    await sendCode(page, phone.national);
    expect(await page.evaluate('window.__webOtpRequests')).toEqual(['{"transport":["sms"]}']);
    await page.evaluate(
      `window.__deliverSms(${JSON.stringify(lastCodeFor(t.messagesFile, phone.e164).code)})`,
    );
    await page.getByText(/is linked to your account/).waitFor();
    expect(await state(page)).toBe('verified');
  });

  it('fits a phone screen and 200 % zoom without sideways scrolling', async () => {
    const mobile = await openPage({
      viewport: { width: 360, height: 740 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const noSideways =
      'document.documentElement.scrollWidth <= document.documentElement.clientWidth';
    expect(await mobile.evaluate(noSideways)).toBe(true);
    await axe(mobile, 'mobile-phone');
    await screenshot(mobile, '10-mobile-phone');
    const phone = uniquePhone();
    await sendCode(mobile, phone.national);
    expect(await mobile.evaluate(noSideways)).toBe(true);
    await axe(mobile, 'mobile-code');
    await screenshot(mobile, '11-mobile-code');

    // 200 % zoom of a 1280-pixel window: a 640-pixel layout viewport at twice the pixels.
    const zoomed = await openPage({ viewport: { width: 640, height: 400 }, deviceScaleFactor: 2 });
    expect(await zoomed.evaluate(noSideways)).toBe(true);
    const send = await zoomed.getByRole('button', { name: 'Send code' }).boundingBox();
    expect(send && send.x + send.width).toBeLessThanOrEqual(640);
    await screenshot(zoomed, '12-zoom-200');
  });
});
