import {
  createOtpLinkClient,
  createResendTimer,
  OtpLinkError,
  type LinkedNumber,
  type OtpConfig,
  type OtpLinkClient,
  type OtpSent,
  type ResendTimer,
  type TokenProvider,
  type Verified,
} from '@otp-link/client';
import {
  AsYouType,
  getCountries,
  getCountryCallingCode,
  parsePhoneNumberFromString,
  type CountryCode,
} from 'libphonenumber-js/min';
import { errorSentence } from './messages';
import { STYLES } from './styles';

/** The form's states (README "Frontend guide"). */
export type VerifyState = 'phone' | 'code' | 'wait' | 'locked' | 'verified';

export interface VerifiedDetail {
  verified: Verified;
  linked: LinkedNumber | null;
}

/** What the element needs from the page: `element.tokenProvider = () => fetchMyToken()`. */
export interface OtpLinkVerifyElement extends HTMLElement {
  tokenProvider?: TokenProvider;
  client?: OtpLinkClient;
  readonly state: VerifyState;
}

const TEMPLATE = `
<div class="box" part="box">
  <form class="step" data-step="phone" novalidate>
    <label for="country">Country</label>
    <select id="country" name="country" autocomplete="tel-country-code"></select>
    <label for="phone">Phone number</label>
    <input id="phone" name="phone" type="tel" inputmode="tel" autocomplete="tel-national"
      aria-describedby="phone-hint" required>
    <p id="phone-hint" class="hint">We will send you a one-time code by text message.</p>
    <button type="submit" class="primary" id="send">Send code</button>
  </form>
  <form class="step" data-step="code" novalidate hidden>
    <p class="sent-to" id="sent-to"></p>
    <label for="code">Verification code</label>
    <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
      pattern="[0-9]*" aria-describedby="attempts" required>
    <p id="attempts" class="hint"></p>
    <button type="submit" class="primary" id="verify">Verify</button>
    <div class="row">
      <button type="button" class="secondary" id="resend" disabled>Resend code</button>
      <button type="button" class="secondary" id="change">Change number</button>
    </div>
  </form>
  <div class="step" data-step="locked" hidden>
    <button type="button" class="primary" id="new-code">Request a new code</button>
    <button type="button" class="secondary" id="locked-change">Change number</button>
  </div>
  <div class="step" data-step="wait" hidden>
    <button type="button" class="primary" id="wait-retry" disabled>Try again</button>
  </div>
  <div class="step" data-step="verified" hidden>
    <p id="done" class="done" tabindex="-1"></p>
  </div>
  <p id="error" class="error" role="alert"></p>
  <p id="status" class="status" role="status" aria-live="polite"></p>
</div>`;

/** Country names in the page's language, falling back to the ISO code. */
function countryName(code: string, names?: Intl.DisplayNames): string {
  try {
    return names?.of(code) ?? code;
  } catch {
    return code;
  }
}

/**
 * `<otp-link-verify>`: phone → code → linked, on @otp-link/client. Attributes: `base-url` (the
 * service's origin; default this page's), `default-country` (ISO code, default `US`), `channel`
 * (`sms`, `whatsapp`, `voice`). Events: `otp-link-state` ({state}), `otp-link-verified`
 * ({verified, linked}), `otp-link-error` ({code, message}).
 */
export class OtpLinkVerify extends HTMLElement implements OtpLinkVerifyElement {
  static readonly observedAttributes = ['base-url', 'default-country'];

  tokenProvider?: TokenProvider;
  /** A ready client instead of base-url + tokenProvider. */
  client?: OtpLinkClient;

  private readonly root: ShadowRoot;
  private current: VerifyState = 'phone';
  private config?: OtpConfig;
  private sent?: OtpSent;
  private phone?: { countryCode: string; phone_number: string; display: string };
  private busy = false;
  private webOtp?: AbortController;
  private readonly resendTimer: ResendTimer;
  private readonly waitTimer: ResendTimer;
  private started = false;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.root.innerHTML = `<style>${STYLES}</style>${TEMPLATE}`;
    this.resendTimer = createResendTimer(({ secondsLeft, canResend }) => {
      const button = this.$<HTMLButtonElement>('#resend');
      button.disabled = !canResend;
      button.textContent = canResend ? 'Resend code' : `Resend code in ${secondsLeft} s`;
    });
    this.waitTimer = createResendTimer(({ secondsLeft, canResend }) => {
      const button = this.$<HTMLButtonElement>('#wait-retry');
      button.disabled = !canResend;
      button.textContent = canResend ? 'Try again' : `Try again in ${secondsLeft} s`;
    });
  }

  get state(): VerifyState {
    return this.current;
  }

  connectedCallback(): void {
    if (this.started) return;
    this.started = true;
    this.$('[data-step="phone"]').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.send('register');
    });
    this.$('[data-step="code"]').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.verify();
    });
    this.$('#phone').addEventListener('input', () => this.formatPhone());
    this.$('#country').addEventListener('change', () => this.formatPhone());
    this.$('#code').addEventListener('input', () => {
      const input = this.$<HTMLInputElement>('#code');
      const digits = input.value.replace(/\D/g, '');
      if (digits !== input.value) input.value = digits;
    });
    this.$('#resend').addEventListener('click', () => void this.send('resend'));
    this.$('#new-code').addEventListener('click', () => void this.send('register'));
    this.$('#wait-retry').addEventListener('click', () => this.show('phone', '#phone'));
    for (const id of ['#change', '#locked-change']) {
      this.$(id).addEventListener('click', () => this.show('phone', '#phone'));
    }
    this.setAttribute('state', this.current);
    this.fillCountries(undefined);
    void this.start();
  }

  disconnectedCallback(): void {
    this.webOtp?.abort();
    this.resendTimer.stop();
    this.waitTimer.stop();
  }

  private api(): OtpLinkClient {
    this.client ??= createOtpLinkClient({
      baseUrl: this.getAttribute('base-url') ?? '',
      token: () => {
        const provider = this.tokenProvider;
        if (provider === undefined) return '';
        return typeof provider === 'function' ? provider() : provider;
      },
    });
    return this.client;
  }

  /** Reads the form settings, and shows the done state when the user is already linked. */
  private async start(): Promise<void> {
    try {
      this.config = await this.api().config();
      this.fillCountries(this.config);
      this.$<HTMLInputElement>('#code').maxLength = this.config.otpLength;
    } catch (error) {
      this.fail(error);
    }
    if (this.tokenProvider === undefined && !this.client) return;
    try {
      const linked = await this.api().linkedNumber();
      if (linked)
        this.done(linked, `+${linked.CountryCode.replace('+', '')} ${linked.LinkedPhone}`);
    } catch {
      // Not knowing is not an error yet: register will say what is wrong.
    }
  }

  private fillCountries(config: OtpConfig | undefined): void {
    const select = this.$<HTMLSelectElement>('#country');
    const previous = select.value || (this.getAttribute('default-country') ?? 'US').toUpperCase();
    const allowed =
      config && !config.allCountriesAllowed
        ? new Set(config.allowedCountryCodes.map((code) => code.replace('+', '')))
        : undefined;
    let names: Intl.DisplayNames | undefined;
    try {
      names = new Intl.DisplayNames([document.documentElement.lang || navigator.language || 'en'], {
        type: 'region',
      });
    } catch {
      names = undefined;
    }
    const countries = getCountries()
      .filter((country) => !allowed || allowed.has(getCountryCallingCode(country)))
      .map((country) => ({
        country,
        label: `${countryName(country, names)} (+${getCountryCallingCode(country)})`,
      }))
      .sort((a, b) => a.label.localeCompare(b.label));
    select.replaceChildren(
      ...countries.map(({ country, label }) => {
        const option = document.createElement('option');
        option.value = country;
        option.textContent = label;
        return option;
      }),
    );
    if (countries.some(({ country }) => country === previous)) select.value = previous;
  }

  private country(): CountryCode {
    return this.$<HTMLSelectElement>('#country').value as CountryCode;
  }

  /** Formats the number as it is typed, while the caret is at the end (editing inside is left be). */
  private formatPhone(): void {
    const input = this.$<HTMLInputElement>('#phone');
    if (input.selectionStart !== null && input.selectionStart < input.value.length) return;
    const typed = input.value;
    // Deleting a formatting character must not bring it straight back.
    if (/[\s()-]$/.test(typed)) return;
    input.value = new AsYouType(this.country()).input(typed);
  }

  /** The number to send, or undefined (with the reason shown) when there is nothing to send. */
  private readPhone(): { countryCode: string; phone_number: string; display: string } | undefined {
    const typed = this.$<HTMLInputElement>('#phone').value.trim();
    if (!/\d/.test(typed)) {
      this.showError('Enter your phone number.', '#phone');
      return undefined;
    }
    const parsed = parsePhoneNumberFromString(typed, this.country());
    if (!parsed) {
      // Let the service say what is wrong with it, in its words.
      const digits = typed.replace(/\D/g, '');
      const code = getCountryCallingCode(this.country());
      return { countryCode: `+${code}`, phone_number: digits, display: `+${code} ${typed}` };
    }
    return {
      countryCode: `+${parsed.countryCallingCode}`,
      phone_number: parsed.nationalNumber,
      display: parsed.formatInternational(),
    };
  }

  private async send(kind: 'register' | 'resend'): Promise<void> {
    if (this.busy) return;
    const phone = kind === 'resend' && this.phone ? this.phone : this.readPhone();
    if (!phone) return;
    const channel = this.getAttribute('channel') ?? undefined;
    this.setBusy(true, kind === 'resend' ? 'Sending a new code…' : 'Sending your code…');
    try {
      const body = {
        countryCode: phone.countryCode,
        phone_number: phone.phone_number,
        ...(channel ? { channel: channel as 'sms' } : {}),
      };
      const sent =
        kind === 'resend' && this.sent
          ? await this.api().resend({ ...body, authCode: this.sent.authCode })
          : await this.api().register(body);
      this.phone = phone;
      this.sent = sent;
      this.$('#sent-to').textContent = `We sent a code to ${phone.display}.`;
      this.$<HTMLInputElement>('#code').value = '';
      this.setAttempts(sent.attemptsLeft ?? this.config?.maxAttempts);
      this.resendTimer.start(sent.resendAfter);
      this.show('code', '#code');
      this.announce(`Code sent to ${phone.display}. Enter it below.`);
      this.listenForSms();
    } catch (error) {
      if (
        error instanceof OtpLinkError &&
        error.code === 'RESEND_TOO_SOON' &&
        this.current === 'code'
      ) {
        this.resendTimer.start(error.retryAfter ?? this.config?.resendAfter ?? 30);
        this.fail(error, '#code');
      } else if (
        error instanceof OtpLinkError &&
        (error.code === 'RATE_LIMITED' || error.code === 'RESEND_TOO_SOON')
      ) {
        this.waitTimer.start(error.retryAfter ?? 60);
        this.show('wait', '#wait-retry');
        this.fail(error);
      } else {
        this.fail(error, this.current === 'phone' ? '#phone' : undefined);
      }
    } finally {
      this.setBusy(false);
    }
  }

  private async verify(): Promise<void> {
    if (this.busy || !this.sent || !this.phone) return;
    const otp = this.$<HTMLInputElement>('#code').value.replace(/\D/g, '');
    if (otp === '') {
      this.showError('Enter the code we sent you.', '#code');
      return;
    }
    this.setBusy(true, 'Checking the code…');
    try {
      const verified = await this.api().verify({
        countryCode: this.phone.countryCode,
        phone_number: this.phone.phone_number,
        authCode: this.sent.authCode,
        otp,
      });
      const linked = await this.api()
        .linkedNumber()
        .catch(() => null);
      this.done(linked, this.phone.display, verified);
    } catch (error) {
      if (error instanceof OtpLinkError && error.needsNewCode) {
        this.webOtp?.abort();
        this.resendTimer.stop();
        this.show('locked', '#new-code');
        this.fail(error);
      } else {
        if (error instanceof OtpLinkError && error.attemptsLeft !== undefined) {
          this.setAttempts(error.attemptsLeft);
        }
        this.fail(error, '#code');
      }
    } finally {
      this.setBusy(false);
    }
  }

  private done(linked: LinkedNumber | null, display: string, verified?: Verified): void {
    this.webOtp?.abort();
    this.resendTimer.stop();
    const number = linked
      ? (parsePhoneNumberFromString(
          `${linked.CountryCode}${linked.LinkedPhone}`,
        )?.formatInternational() ?? display)
      : display;
    this.$('#done').textContent = `Your phone number ${number} is linked to your account.`;
    this.show('verified', '#done');
    this.announce('Phone number verified.');
    if (verified) {
      this.dispatchEvent(
        new CustomEvent<VerifiedDetail>('otp-link-verified', {
          detail: { verified, linked },
          bubbles: true,
          composed: true,
        }),
      );
    }
  }

  /** WebOTP: fills and submits the code when the browser reads it from the SMS. */
  private listenForSms(): void {
    this.webOtp?.abort();
    if (!('OTPCredential' in window) || !navigator.credentials) return;
    const controller = new AbortController();
    this.webOtp = controller;
    navigator.credentials
      .get({ otp: { transport: ['sms'] }, signal: controller.signal } as CredentialRequestOptions)
      .then((credential) => {
        const code = (credential as { code?: string } | null)?.code;
        if (!code || controller.signal.aborted || this.current !== 'code') return;
        this.$<HTMLInputElement>('#code').value = code;
        void this.verify();
      })
      .catch(() => undefined);
  }

  private setAttempts(attemptsLeft: number | undefined): void {
    this.$('#attempts').textContent =
      attemptsLeft === undefined
        ? ''
        : `${attemptsLeft} ${attemptsLeft === 1 ? 'try' : 'tries'} left.`;
  }

  private show(state: VerifyState, focus?: string): void {
    if (state !== 'code') this.webOtp?.abort();
    if (state === 'phone') this.waitTimer.stop();
    this.current = state;
    for (const step of this.root.querySelectorAll<HTMLElement>('.step')) {
      step.hidden = step.dataset.step !== state;
    }
    // A new step starts without the last one's error (a failure that leads here says its own).
    this.showError('');
    this.setAttribute('state', state);
    this.dispatchEvent(
      new CustomEvent('otp-link-state', { detail: { state }, bubbles: true, composed: true }),
    );
    if (focus) this.$<HTMLElement>(focus).focus();
  }

  private setBusy(busy: boolean, status = ''): void {
    this.busy = busy;
    this.$('.box').setAttribute('aria-busy', String(busy));
    for (const id of ['#send', '#verify', '#new-code']) {
      this.$<HTMLButtonElement>(id).disabled = busy;
    }
    // The outcome's own announcement replaces the progress one; ending says nothing.
    if (busy) this.announce(status);
  }

  private announce(text: string): void {
    this.$('#status').textContent = text;
  }

  private fail(error: unknown, focus?: string): void {
    const known =
      error instanceof OtpLinkError
        ? error
        : new OtpLinkError('INTERNAL', error instanceof Error ? error.message : String(error));
    this.showError(errorSentence(known), focus);
    this.dispatchEvent(
      new CustomEvent('otp-link-error', {
        detail: { code: known.code, message: known.message },
        bubbles: true,
        composed: true,
      }),
    );
  }

  private showError(sentence: string, focus?: string): void {
    const error = this.$('#error');
    error.textContent = sentence;
    error.hidden = sentence === '';
    for (const id of ['#phone', '#code']) {
      const input = this.$<HTMLInputElement>(id);
      const invalid = sentence !== '' && focus === id;
      input.setAttribute('aria-invalid', String(invalid));
      const described = id === '#phone' ? 'phone-hint' : 'attempts';
      input.setAttribute('aria-describedby', invalid ? `${described} error` : described);
    }
    if (sentence !== '') this.announce('');
    if (focus) this.$<HTMLElement>(focus).focus();
  }

  private $<T extends Element = HTMLElement>(selector: string): T {
    const found = this.root.querySelector<T>(selector);
    if (!found) throw new Error(`otp-link-verify: no ${selector}`);
    return found;
  }
}

/** Registers the element (once) under `name`. */
export function defineOtpLinkVerify(name = 'otp-link-verify'): void {
  if (!customElements.get(name)) customElements.define(name, OtpLinkVerify);
}
