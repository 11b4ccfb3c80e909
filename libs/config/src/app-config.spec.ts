import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, configWarnings, DEV_OTP_SECRET, loadConfig } from './app-config';

const STRONG = 'x'.repeat(40);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives the spec defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.database.url).toBeUndefined();
    expect(config.database.dataDir).toBe('./.data');
    expect(config.database.poolSize).toBe(10);
    expect(config.otp).toMatchObject({
      length: 6,
      ttlSeconds: 300,
      maxAttempts: 5,
      resendCooldownSeconds: 30,
      maxSendsPerPhonePerHour: 5,
      maxSendsPerUserPerHour: 10,
      maxSendsPerHour: 1000,
      maxFailedVerifiesPerPhonePerHour: 10,
    });
    expect(config.notify).toMatchObject({ driver: 'console', timeoutMs: 5000 });
    expect(config.notify.twilio.apiUrl).toBe('https://api.twilio.com');
    expect(config.http.rateLimitPerMinute).toBe(60);
    expect(config.allowedCountryCodes).toEqual([]);
    // API.md §6's list, and personal numbers (+44 70…), rented for SMS pumping (issue 13).
    expect(config.blockedNumberTypes).toEqual([
      'PREMIUM_RATE',
      'SHARED_COST',
      'TOLL_FREE',
      'VOIP',
      'UAN',
      'PERSONAL_NUMBER',
    ]);
    expect(config.blockedPrefixes).toEqual(['+870', '+881', '+882', '+883']);
    expect(config.otp).toMatchObject({
      maxSendsPerClientPerHour: 200,
      pumpingMinConversion: 0.2,
      pumpingMinSends: 30,
      maxLinkProbesPerUserPerHour: 20,
      maxLinkProbesPerClientPerHour: 1000,
    });
    expect(config.partnerJwt.fallback).toBe(true);
  });

  it('reads lists, "none" as the empty list, and shares as 0.2 or 20 %', () => {
    const config = loadConfig({
      BLOCKED_NUMBER_TYPES: 'none',
      BLOCKED_PREFIXES: '+1876, +44 ',
      PUMPING_MIN_CONVERSION: '35%',
    });
    expect(config.blockedNumberTypes).toEqual([]);
    expect(config.blockedPrefixes).toEqual(['+1876', '+44']);
    expect(config.otp.pumpingMinConversion).toBeCloseTo(0.35);
    expect(loadConfig({ PUMPING_MIN_CONVERSION: '0.05' }).otp.pumpingMinConversion).toBe(0.05);
    expect(problemsOf({ PUMPING_MIN_CONVERSION: '120%' })).toEqual([
      'PUMPING_MIN_CONVERSION must be a share from 0 to 1 (or 0% to 100%), got "120%"',
    ]);
    expect(problemsOf({ PUMPING_MIN_CONVERSION: 'half' })).toHaveLength(1);
    expect(problemsOf({ BLOCKED_PREFIXES: '+881,881' })).toEqual([
      'BLOCKED_PREFIXES entries must be + and 1-15 digits, got "881"',
    ]);
  });

  it('names the variable and the bad value', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual(['PORT must be an integer 1-65535, got "abc"']);
    expect(problemsOf({ PORT: '70000' })).toEqual(['PORT must be an integer 1-65535, got "70000"']);
    expect(problemsOf({ INTERNAL_PORT: 'x' })).toEqual([
      'INTERNAL_PORT must be an integer 0-65535, got "x"',
    ]);
    expect(problemsOf({ PORT: '8080', INTERNAL_PORT: '8080' })).toEqual([
      'INTERNAL_PORT must differ from PORT',
    ]);
    expect(loadConfig({ INTERNAL_PORT: '9464' }).http.internalPort).toBe(9464);
    expect(loadConfig({}).http.internalPort).toBeUndefined();
    expect(problemsOf({ OTP_LENGTH: '3' })).toEqual([
      'OTP_LENGTH must be an integer 4-10, got "3"',
    ]);
    expect(problemsOf({ LOG_LEVEL: 'loud' })[0]).toMatch(/^LOG_LEVEL must be one of/);
    expect(problemsOf({ NOTIFY_DRIVER: 'pigeon' })[0]).toMatch(/^NOTIFY_DRIVER must be one of/);
    expect(problemsOf({ PARTNER_JWT_FALLBACK: 'maybe' })[0]).toMatch(/^PARTNER_JWT_FALLBACK/);
  });

  it('reports every problem at once', () => {
    expect(problemsOf({ PORT: 'x', OTP_TTL_SECONDS: '-1', DATABASE_POOL_SIZE: '0' })).toHaveLength(
      3,
    );
  });

  it('never echoes a database URL (it may hold a password)', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://user:hunter2@db/x' });
    expect(problems).toEqual(['DATABASE_URL must be a postgres: or postgresql: URL']);
  });

  it('reads TRUST_PROXY as none, any, a hop count or a list of proxies', () => {
    expect(loadConfig({}).http.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).http.trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).http.trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
    ]);
  });

  it('refuses TRUST_PROXY=true in production and warns of it elsewhere', () => {
    const production = {
      NODE_ENV: 'production',
      PARTNER_JWT_SECRET: 'p'.repeat(32),
      OTP_SECRET: 'o'.repeat(32),
      NOTIFY_DRIVER: 'twilio',
      TWILIO_ACCOUNT_SID: 'AC1',
      TWILIO_AUTH_TOKEN: 't',
      TWILIO_FROM: '+15005550006',
    };
    expect(problemsOf({ ...production, TRUST_PROXY: 'true' })).toEqual([
      expect.stringMatching(/^TRUST_PROXY=true believes the leftmost X-Forwarded-For address/),
    ]);
    expect(loadConfig({ ...production, TRUST_PROXY: '1' }).http.trustProxy).toBe(1);
    expect(configWarnings(loadConfig({ TRUST_PROXY: 'true' }))).toEqual([
      expect.stringMatching(/^TRUST_PROXY=true/),
    ]);
    expect(configWarnings(loadConfig({ TRUST_PROXY: '10.0.0.1' }))).toEqual([]);
  });

  it('warns when a first delivery may outlast the shutdown that waits for it', () => {
    expect(configWarnings(loadConfig({}), 8000)).toEqual([]);
    expect(configWarnings(loadConfig({ NOTIFY_TIMEOUT_MS: '7999' }), 8000)).toEqual([]);
    expect(configWarnings(loadConfig({ NOTIFY_TIMEOUT_MS: '8000' }), 8000)).toEqual([
      expect.stringMatching(/^NOTIFY_TIMEOUT_MS \(8000\) is not under the shutdown's grace/),
    ]);
  });

  it('reads the HTTP timeouts, keeping headers within the request and connections past a send', () => {
    expect(loadConfig({}).http).toMatchObject({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 65_000,
      connectionTimeoutMs: 120_000,
    });
    expect(
      problemsOf({ HTTP_REQUEST_TIMEOUT_MS: '5000', HTTP_HEADERS_TIMEOUT_MS: '6000' }),
    ).toEqual(['HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS']);
    expect(problemsOf({ HTTP_CONNECTION_TIMEOUT_MS: '5000' })).toEqual([
      'HTTP_CONNECTION_TIMEOUT_MS must exceed NOTIFY_TIMEOUT_MS',
    ]);
    expect(problemsOf({ HTTP_REQUEST_TIMEOUT_MS: '0' })[0]).toMatch(/^HTTP_REQUEST_TIMEOUT_MS/);
  });

  it('normalises ALLOWED_COUNTRY_CODES and rejects malformed entries', () => {
    expect(loadConfig({ ALLOWED_COUNTRY_CODES: '91, +44' }).allowedCountryCodes).toEqual([
      '+91',
      '+44',
    ]);
    expect(problemsOf({ ALLOWED_COUNTRY_CODES: '+91,abc' })[0]).toMatch(/^ALLOWED_COUNTRY_CODES/);
  });

  it('refuses development secrets and drivers in production, naming them', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toEqual([
      'PARTNER_JWT_SECRET must be set in production (the development default is refused)',
      'OTP_SECRET must be set in production (the development default is refused)',
      'NOTIFY_DRIVER=console is a development driver and is refused in production',
    ]);
    expect(problemsOf({ NODE_ENV: 'production', OTP_SECRET: DEV_OTP_SECRET })).toContain(
      'OTP_SECRET must be set in production (the development default is refused)',
    );
    expect(problemsOf({ NODE_ENV: 'production', OTP_SECRET: 'short' })).toContain(
      'OTP_SECRET must be at least 32 characters in production',
    );
  });

  it('reads TOKEN_SIGNING_KEYS as P-256 PEMs (newlines may be escaped), refusing anything else', () => {
    const pem = () =>
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
    const [first, second] = [pem(), pem()];
    expect(loadConfig({}).tokens).toEqual({
      signingKeys: [],
      issuer: 'http://localhost:3000',
      accessTokenTtlSeconds: 900,
    });
    const config = loadConfig({
      TOKEN_SIGNING_KEYS: `${first}${second}`.replace(/\n/g, '\\n'),
      PUBLIC_URL: 'https://otp.example.com/',
    });
    expect(config.tokens.signingKeys).toEqual([first.trim(), second.trim()]);
    expect(config.tokens.issuer).toBe('https://otp.example.com');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(problemsOf({ TOKEN_SIGNING_KEYS: `${first}${rsa}` })).toEqual([
      'TOKEN_SIGNING_KEYS key 2 is not a P-256 (ES256) key',
    ]);
    expect(problemsOf({ TOKEN_SIGNING_KEYS: p384 })).toEqual([
      'TOKEN_SIGNING_KEYS key 1 is not a P-256 (ES256) key',
    ]);
    expect(problemsOf({ TOKEN_SIGNING_KEYS: 'secret' })).toEqual([
      'TOKEN_SIGNING_KEYS must hold PEM private keys (-----BEGIN PRIVATE KEY-----)',
    ]);
    expect(
      problemsOf({
        TOKEN_SIGNING_KEYS: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
      }),
    ).toEqual(['TOKEN_SIGNING_KEYS key 1 is not a readable private key']);
    expect(problemsOf({ ACCESS_TOKEN_TTL_SECONDS: '0' })).toHaveLength(1);
    expect(configWarnings(loadConfig({}))).toEqual([]);
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PARTNER_JWT_SECRET: STRONG,
      OTP_SECRET: STRONG,
      NOTIFY_DRIVER: 'twilio',
      TWILIO_ACCOUNT_SID: 'AC123',
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_FROM: 'MG123',
      DATABASE_URL: 'postgres://u@localhost/db',
    });
    expect(config.isProduction).toBe(true);
    expect(config.notify.twilio.from).toBe('MG123');
    // Without signing keys production still starts, with app sign-in off, and says so.
    expect(configWarnings(config)).toEqual([
      expect.stringContaining('TOKEN_SIGNING_KEYS is not set') as string,
    ]);
  });

  it('asks a strong ADMIN_API_KEY of production when one is set, and none at all otherwise', () => {
    const production = {
      NODE_ENV: 'production',
      PARTNER_JWT_SECRET: STRONG,
      OTP_SECRET: STRONG,
      NOTIFY_DRIVER: 'twilio',
      TWILIO_ACCOUNT_SID: 'AC123',
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_FROM: 'MG123',
    };
    expect(problemsOf({ ...production, ADMIN_API_KEY: 'short' })).toEqual([
      'ADMIN_API_KEY must be at least 32 characters in production',
    ]);
    expect(loadConfig({ ...production, ADMIN_API_KEY: STRONG }).adminApiKey).toBe(STRONG);
    expect(loadConfig(production).adminApiKey).toBeUndefined();
    expect(loadConfig({ ADMIN_API_KEY: 'short' }).adminApiKey).toBe('short'); // development
  });

  it('requires the Twilio settings with the twilio driver and a file with the file driver', () => {
    expect(problemsOf({ NOTIFY_DRIVER: 'twilio' })).toEqual([
      'TWILIO_ACCOUNT_SID must be set when NOTIFY_DRIVER=twilio',
      'TWILIO_AUTH_TOKEN must be set when NOTIFY_DRIVER=twilio',
      'TWILIO_FROM must be set when NOTIFY_DRIVER=twilio',
    ]);
    expect(problemsOf({ NOTIFY_DRIVER: 'file' })).toEqual([
      'NOTIFY_FILE must be set when NOTIFY_DRIVER=file',
    ]);
  });

  describe('channels (CHANNELS.md)', () => {
    it('enables sms alone by default, with no fallback and the documented defaults', () => {
      const { notify, otp, publicUrl } = loadConfig({});
      expect(notify.channels).toEqual(['sms']);
      expect(notify.fallback).toEqual([]);
      expect(notify.fallbackAfterSeconds).toBe(30);
      expect(notify.email).toEqual({ driver: 'console', smtpUrl: undefined, from: undefined });
      expect(notify.telegram).toMatchObject({
        driver: 'console',
        apiUrl: 'https://api.telegram.org',
      });
      expect(notify.twilio.statusCallbackUrl).toBeUndefined();
      expect(notify.webOtpDomain).toBeUndefined();
      expect(otp.maxCallsPerPhonePerHour).toBe(3);
      expect(publicUrl).toBeUndefined();
    });

    it('reads every channel setting', () => {
      const config = loadConfig({
        NOTIFY_CHANNELS: 'sms, WhatsApp,voice,email,telegram',
        NOTIFY_FALLBACK: 'sms>whatsapp>voice',
        NOTIFY_FALLBACK_AFTER_SECONDS: '45',
        NOTIFY_DRIVER: 'twilio',
        TWILIO_ACCOUNT_SID: 'AC123',
        TWILIO_AUTH_TOKEN: 'token',
        TWILIO_FROM: '+15005550006',
        TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886',
        TWILIO_WHATSAPP_CONTENT_SID: 'HX' + 'a'.repeat(32),
        EMAIL_DRIVER: 'smtp',
        SMTP_URL: 'smtp://user:pass@mail.example.com:587',
        EMAIL_FROM: 'Ludo <no-reply@example.com>',
        TELEGRAM_DRIVER: 'telegram',
        TELEGRAM_BOT_TOKEN: '123456:' + 'A'.repeat(35),
        TELEGRAM_API_URL: 'http://127.0.0.1:8081/',
        PUBLIC_URL: 'https://otp.example.com/',
        WEBOTP_DOMAIN: 'Ludo.Example.com',
        OTP_MAX_CALLS_PER_PHONE_PER_HOUR: '2',
      });
      expect(config.notify.channels).toEqual(['sms', 'whatsapp', 'voice', 'email', 'telegram']);
      expect(config.notify.fallback).toEqual(['sms', 'whatsapp', 'voice']);
      expect(config.notify.fallbackAfterSeconds).toBe(45);
      expect(config.notify.twilio).toMatchObject({
        voiceFrom: '+15005550006',
        whatsappFrom: 'whatsapp:+14155238886',
        statusCallbackUrl: 'https://otp.example.com/hooks/twilio/status',
      });
      expect(config.notify.telegram.apiUrl).toBe('http://127.0.0.1:8081');
      expect(config.notify.webOtpDomain).toBe('ludo.example.com');
      expect(config.otp.maxCallsPerPhonePerHour).toBe(2);
      expect(config.publicUrl).toBe('https://otp.example.com');
    });

    it.each([
      [
        { NOTIFY_CHANNELS: 'sms,fax' },
        'NOTIFY_CHANNELS entries must be one of sms, whatsapp, voice, email, telegram, got "fax"',
      ],
      [{ NOTIFY_CHANNELS: 'sms,sms' }, 'NOTIFY_CHANNELS names sms twice'],
      [
        { NOTIFY_CHANNELS: 'sms,' + 'x'.repeat(500) },
        `NOTIFY_CHANNELS entries must be one of sms, whatsapp, voice, email, telegram, got "${'x'.repeat(40)}"`,
      ],
      [
        { NOTIFY_FALLBACK: 'sms>voice' },
        'NOTIFY_FALLBACK names voice, which NOTIFY_CHANNELS does not enable',
      ],
      [
        { NOTIFY_FALLBACK_AFTER_SECONDS: '0' },
        'NOTIFY_FALLBACK_AFTER_SECONDS must be an integer 1-86400, got "0"',
      ],
      [
        { OTP_MAX_CALLS_PER_PHONE_PER_HOUR: 'many' },
        'OTP_MAX_CALLS_PER_PHONE_PER_HOUR must be an integer 1-1000000, got "many"',
      ],
      [
        { EMAIL_DRIVER: 'sendgrid' },
        'EMAIL_DRIVER must be one of console, file, smtp, got "sendgrid"',
      ],
      [
        { TELEGRAM_DRIVER: 'tdlib' },
        'TELEGRAM_DRIVER must be one of console, file, telegram, got "tdlib"',
      ],
      [{ SMTP_URL: 'http://mail.example.com' }, 'SMTP_URL must be a smtp: or smtps: URL'],
      [{ TELEGRAM_API_URL: 'ftp://x' }, 'TELEGRAM_API_URL must be a https: or http: URL'],
      [{ PUBLIC_URL: 'javascript:alert(1)' }, 'PUBLIC_URL must be a https: or http: URL'],
      [
        { WEBOTP_DOMAIN: 'https://ludo.example' },
        'WEBOTP_DOMAIN must be a host name such as example.com',
      ],
      [{ WEBOTP_DOMAIN: 'a b.example' }, 'WEBOTP_DOMAIN must be a host name such as example.com'],
      [
        { TWILIO_WHATSAPP_CONTENT_SID: 'HX12' },
        'TWILIO_WHATSAPP_CONTENT_SID must be a content SID (HX and 32 hex digits)',
      ],
      [
        { TELEGRAM_BOT_TOKEN: 'not a token' },
        'TELEGRAM_BOT_TOKEN must look like 123456:ABC… (the token BotFather gives)',
      ],
      [
        { NOTIFY_CHANNELS: 'email', EMAIL_DRIVER: 'smtp' },
        'SMTP_URL must be set when EMAIL_DRIVER=smtp',
      ],
      [
        { NOTIFY_CHANNELS: 'telegram', TELEGRAM_DRIVER: 'telegram' },
        'TELEGRAM_BOT_TOKEN must be set when TELEGRAM_DRIVER=telegram',
      ],
      [
        { NOTIFY_CHANNELS: 'email', EMAIL_DRIVER: 'file' },
        'NOTIFY_FILE must be set when EMAIL_DRIVER=file',
      ],
      [
        {
          NOTIFY_CHANNELS: 'whatsapp',
          NOTIFY_DRIVER: 'twilio',
          TWILIO_ACCOUNT_SID: 'AC1',
          TWILIO_AUTH_TOKEN: 't',
          TWILIO_WHATSAPP_FROM: '+14155238886',
        },
        'TWILIO_WHATSAPP_FROM must be whatsapp:+<E.164> or a Messaging Service SID (MG…) when whatsapp is enabled',
      ],
      [
        {
          NOTIFY_CHANNELS: 'voice',
          NOTIFY_DRIVER: 'twilio',
          TWILIO_ACCOUNT_SID: 'AC1',
          TWILIO_AUTH_TOKEN: 't',
        },
        'TWILIO_VOICE_FROM (or TWILIO_FROM) must be set when NOTIFY_DRIVER=twilio',
      ],
    ])('%j → %s', (env, problem) => {
      expect(problemsOf(env)).toContain(problem);
    });

    it('refuses development drivers of enabled channels in production, and disabled checks', () => {
      const production = {
        NODE_ENV: 'production',
        PARTNER_JWT_SECRET: STRONG,
        OTP_SECRET: STRONG,
        NOTIFY_CHANNELS: 'email,telegram',
      };
      expect(problemsOf(production)).toEqual([
        'EMAIL_DRIVER=console is a development driver and is refused in production',
        'TELEGRAM_DRIVER=console is a development driver and is refused in production',
      ]);
      expect(
        problemsOf({
          ...production,
          EMAIL_DRIVER: 'smtp',
          SMTP_URL: 'smtp://mail.example.com:587/?tls.rejectUnauthorized=false',
          EMAIL_FROM: 'x@example.com',
          TELEGRAM_DRIVER: 'telegram',
          TELEGRAM_BOT_TOKEN: '123:' + 'b'.repeat(30),
        }),
      ).toEqual(['SMTP_URL must not turn off certificate checks in production']);
    });
  });
});
