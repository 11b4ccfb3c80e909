import { createServer, request as forward, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BROWSER_RESULTS, chromiumPath, launchBrowser } from '../support/browser';
import { lastCodeFor, uniquePhone } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';

const CHROMIUM = chromiumPath();
// Without a browser these are skipped; `npm test` prints why (test/support/skipped-suites.ts).
const describeInBrowser = CHROMIUM ? describe : describe.skip;

/**
 * A website's plain sign-in page (FLOWS.md): no library, a small inline script that starts the
 * flow, renders a form for whichever module the service answers (its fields, their validation
 * and its message), posts it, and shows the session the cookie names. It knows nothing of the
 * modules beforehand: phone then otp is what the service asks for.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Shop: sign in</title></head>
<body>
<main>
  <h1>Sign in</h1>
  <form id="flow" hidden></form>
  <p id="message" role="alert"></p>
  <section id="session" hidden>
    <p id="who"></p>
    <button id="sign-out" type="button">Sign out</button>
  </section>
  <p id="status" role="status"></p>
</main>
<script>
const API = '/gortas/auth/v1/default';
const form = document.getElementById('flow');
const show = (id, text) => { document.getElementById(id).textContent = text; };
let current;

async function call(method, path, body) {
  const response = await fetch(API + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() };
}

function render(answer) {
  current = answer;
  form.replaceChildren();
  show('message', '');
  for (const [name, field] of Object.entries(answer.credentials)) {
    if (field.message) show('message', field.message);
    const label = document.createElement('label');
    label.textContent = name + ' ';
    let input;
    if (field.type === 'options') {
      input = document.createElement('select');
      for (const value of field.additionalProperties.values) input.add(new Option(value, value));
      input.value = field.additionalProperties.default;
    } else {
      input = document.createElement('input');
      input.autocomplete = name === 'otp' ? 'one-time-code' : 'off';
      if (field.validation) input.pattern = field.validation.replace(/^\\^|\\$$/g, '');
    }
    input.name = name;
    input.required = field.required;
    label.append(input);
    form.append(label);
  }
  const submit = document.createElement('button');
  submit.textContent = 'Continue';
  form.append(submit);
  form.dataset.module = answer.module;
  form.hidden = false;
  form.querySelector('input, select').focus();
}

async function showSession() {
  const session = await call('GET', '/session');
  form.hidden = true;
  const signedIn = session.status === 200;
  document.getElementById('session').hidden = !signedIn;
  show('who', signedIn ? 'Signed in as ' + session.body.phone_number : '');
  show('status', signedIn ? 'signed-in' : 'signed-out');
  return signedIn;
}

/** Signed in already (the cookie), or a fresh flow. */
async function open() {
  if (!(await showSession())) render((await call('GET', '/otp')).body);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const credentials = {};
  for (const [name, value] of new FormData(form)) credentials[name] = { value };
  const answer = await call('POST', '/otp', {
    flowId: current.flowId, module: current.module, credentials,
  });
  if (answer.body.sessionId) return showSession();
  if (answer.body.module) return render(answer.body);
  show('message', answer.body.error);
});

document.getElementById('sign-out').addEventListener('click', async () => {
  const out = await call('DELETE', '/session');
  show('message', out.status === 200 ? '' : 'Sign-out failed: ' + out.status);
  await open();
});

open();
</script>
</body>
</html>`;

/**
 * The website's own server: the page, and the flow API behind it on the same origin (a reverse
 * proxy to the service), so the session cookie is first-party, as a partner deploys it.
 */
function startWebsite(): Promise<{ server: Server; origin: string; target: { url?: URL } }> {
  const target: { url?: URL } = {};
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/sign-in') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    if (!target.url || !req.url?.startsWith('/gortas/')) {
      res.writeHead(404).end();
      return;
    }
    const upstream = forward(
      {
        host: target.url.hostname,
        port: target.url.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, origin: `http://127.0.0.1:${port}`, target });
    });
  });
}

describeInBrowser('a plain HTML sign-in page driven by the flow API, in Chromium', () => {
  let t: TestApp;
  let website: Awaited<ReturnType<typeof startWebsite>>;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    website = await startWebsite();
    // The website's origin is one the realm allows (the Origin rule of a POST with the cookie).
    t = await startTestApp({ CORS_ORIGINS: website.origin });
    website.target.url = new URL(t.url);
    browser = await launchBrowser(CHROMIUM as string);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await new Promise((resolve) => website?.server.close(resolve));
    await t?.close();
  });

  const status = (page: Page) => page.getByRole('status');

  it('signs in with a phone and its code, keeps the session in an HttpOnly cookie, signs out', async () => {
    context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${website.origin}/sign-in`);

    await status(page).filter({ hasText: 'signed-out' }).waitFor();
    // The service asks for a phone first: the page renders its field with its validation.
    const phoneField = page.getByLabel('phone');
    await phoneField.waitFor();
    expect(await page.locator('#flow').getAttribute('data-module')).toBe('phone');
    expect(await phoneField.getAttribute('pattern')).toBe('\\d{5,16}');
    const phone = uniquePhone();
    await phoneField.fill(phone.e164.slice(1));
    await page.getByRole('button', { name: 'Continue' }).click();

    // Then the code, with the check/send action the service offers.
    const otpField = page.getByLabel('otp');
    await otpField.waitFor();
    expect(await page.locator('#flow').getAttribute('data-module')).toBe('otp');
    expect(await page.getByLabel('action').inputValue()).toBe('check');
    await page.screenshot({ path: join(BROWSER_RESULTS, 'flow-01-otp.png'), fullPage: true });
    await otpField.fill(lastCodeFor(t.messagesFile, phone.e164).code);
    await page.getByRole('button', { name: 'Continue' }).click();

    await status(page).filter({ hasText: 'signed-in' }).waitFor();
    expect(await page.locator('#who').textContent()).toBe(`Signed in as ${phone.e164}`);
    await page.screenshot({ path: join(BROWSER_RESULTS, 'flow-02-signed-in.png'), fullPage: true });

    // The browser keeps the session as the contract says: first-party, HttpOnly, Lax, and not
    // Secure over http. The page's script cannot read it.
    const cookies = await context.cookies(website.origin);
    const session = cookies.find((cookie) => cookie.name === 'Gortas-Persistence');
    expect(session).toMatchObject({
      domain: '127.0.0.1',
      path: '/',
      httpOnly: true,
      sameSite: 'Lax',
      secure: false,
    });
    expect(session?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session && session.expires - Date.now() / 1000).toBeGreaterThan(604_800 - 120);
    expect(await page.evaluate('document.cookie')).not.toContain('Gortas-Persistence');
    // The cookie names a live session of the service.
    const [row] = await t.dataSource.query<Array<{ kind: string; ended_at: Date | null }>>(
      `SELECT kind, ended_at FROM app_sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
      [session?.value],
    );
    expect(row).toEqual({ kind: 'web', ended_at: null });

    // A reload finds the session by the cookie alone.
    await page.reload();
    await page
      .locator('#who')
      .filter({ hasText: `Signed in as ${phone.e164}` })
      .waitFor();
    expect(await page.locator('#flow').isHidden()).toBe(true);

    // Sign out (a DELETE with the cookie and the page's Origin): the session ends, the cookie goes.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await status(page).filter({ hasText: 'signed-out' }).waitFor();
    expect(await page.locator('#message').textContent()).toBe('');
    // …and the page offers a fresh flow.
    await page.getByLabel('phone').waitFor();
    expect(
      (await context.cookies(website.origin)).filter((c) => c.name === 'Gortas-Persistence'),
    ).toEqual([]);
    const [ended] = await t.dataSource.query<Array<{ end_reason: string }>>(
      `SELECT end_reason FROM app_sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
      [session?.value],
    );
    expect(ended.end_reason).toBe('logout');
    await page.screenshot({
      path: join(BROWSER_RESULTS, 'flow-03-signed-out.png'),
      fullPage: true,
    });
    expect(problems).toEqual([]);
  });
});
