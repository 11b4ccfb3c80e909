import { createPrivateKey } from 'node:crypto';
import { CHANNELS, type Channel } from '@app/common';
import { Env, EnvReader, ConfigError } from './env-parsers';

export { ConfigError };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const NOTIFY_DRIVERS = ['console', 'file', 'twilio'] as const;
export type NotifyDriver = (typeof NOTIFY_DRIVERS)[number];

export const EMAIL_DRIVERS = ['console', 'file', 'smtp'] as const;
export type EmailDriver = (typeof EMAIL_DRIVERS)[number];

export const TELEGRAM_DRIVERS = ['console', 'file', 'telegram'] as const;
export type TelegramDriver = (typeof TELEGRAM_DRIVERS)[number];

/** Development-only secrets; refused when NODE_ENV=production. */
export const DEV_PARTNER_JWT_SECRET = 'dev-partner-jwt-secret-change-me';
export const DEV_OTP_SECRET = 'dev-otp-secret-change-me';
/**
 * The partner client of development tokens (`npm run token`): fixed, so a token minted again
 * names the same partner user and finds the link made with an earlier one.
 */
export const DEV_PARTNER_CLIENT_ID = 'dev-studio';
const MIN_SECRET_LENGTH = 32;

export const DEFAULT_BLOCKED_NUMBER_TYPES = [
  'PREMIUM_RATE',
  'SHARED_COST',
  'TOLL_FREE',
  'VOIP',
  'UAN',
  // Personal numbers (UK +44 70…) forward anywhere and are rented for SMS pumping.
  'PERSONAL_NUMBER',
] as const;

/**
 * E.164 prefixes refused by default: no user of a game signs in from a satellite phone, and
 * these ranges bill at premium rates. +870 Inmarsat, +881 the global mobile satellite systems
 * (Iridium, Globalstar, Thuraya…), +882 and +883 international networks (libphonenumber types
 * many of them MOBILE, so BLOCKED_NUMBER_TYPES does not catch them).
 */
export const DEFAULT_BLOCKED_PREFIXES = ['+870', '+881', '+882', '+883'] as const;

export interface DatabaseConfig {
  /** PostgreSQL URL; undefined selects the embedded database. */
  url?: string;
  dataDir: string;
  poolSize: number;
}

export interface OtpConfig {
  secret: string;
  length: number;
  ttlSeconds: number;
  maxAttempts: number;
  resendCooldownSeconds: number;
  maxSendsPerPhonePerHour: number;
  /** Voice calls per phone per hour (a call costs several SMS). */
  maxCallsPerPhonePerHour: number;
  maxSendsPerUserPerHour: number;
  maxSendsPerHour: number;
  /** Sends per hour to one number block (the number without its last 4 digits). */
  maxSendsPerPrefixPerHour: number;
  maxFailedVerifiesPerPhonePerHour: number;
  /** A client's hourly budget when the registry sets none (unregistered clients too). */
  maxSendsPerClientPerHour: number;
  /** The pumping guard: below this share of codes verified… */
  pumpingMinConversion: number;
  /** …after at least this many settled sends to one country or number block, sends stop there. */
  pumpingMinSends: number;
  /** Phones found linked to another user of the same client (409), per user and hour… */
  maxLinkProbesPerUserPerHour: number;
  /** …and per client and hour; past either, 429 instead of 409. */
  maxLinkProbesPerClientPerHour: number;
}

export interface TwilioConfig {
  accountSid?: string;
  authToken?: string;
  /** A phone number in E.164 or a Messaging Service SID (MG…). */
  from?: string;
  apiUrl: string;
  /** `whatsapp:+1…` or a Messaging Service SID (MG…), for the whatsapp channel. */
  whatsappFrom?: string;
  /** An approved content template (HX…) with the code as variable 1; else a session message. */
  whatsappContentSid?: string;
  /** Caller id of the voice channel (default: from). */
  voiceFrom?: string;
  /** With PUBLIC_URL: where Twilio posts delivery receipts (StatusCallback). */
  statusCallbackUrl?: string;
}

export interface EmailConfig {
  driver: EmailDriver;
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://… */
  smtpUrl?: string;
  /** `"Ludo <no-reply@example.com>"` */
  from?: string;
}

export interface TelegramConfig {
  driver: TelegramDriver;
  botToken?: string;
  apiUrl: string;
  webhookSecret?: string;
  /** TELEGRAM_BOT_CLIENT_ID: the partner client the bot's passwords (POST /telegram/webhook) belong to. */
  botClientId?: string;
}

export interface NotifyConfig {
  /** NOTIFY_DRIVER: the driver of sms, whatsapp and voice. */
  driver: NotifyDriver;
  file?: string;
  timeoutMs: number;
  twilio: TwilioConfig;
  /** NOTIFY_CHANNELS: the enabled channels, in order. */
  channels: Channel[];
  /** NOTIFY_FALLBACK: the chain a code follows when a channel fails (`sms>whatsapp>voice`). */
  fallback: Channel[];
  fallbackAfterSeconds: number;
  email: EmailConfig;
  telegram: TelegramConfig;
  /** WEBOTP_DOMAIN: SMS texts end with `@<domain> #<code>`. */
  webOtpDomain?: string;
}

export interface SessionsConfig {
  /** A refresh token's life; each rotation gives the session this long again. */
  refreshTokenTtlSeconds: number;
  /** A used refresh token presented again within this answers the same successor. */
  refreshReuseGraceSeconds: number;
  /** SESSION_TTL_SECONDS: a website session's life (its `Gortas-Persistence` cookie's). */
  sessionTtlSeconds: number;
}

/** The sign-in flows of websites (FLOWS.md). */
export interface FlowsConfig {
  /** FLOW_TTL_SECONDS: how long a started flow can be continued. */
  ttlSeconds: number;
  /** FLOWS_FILE: JSON `{"<realm>":{"<flow>":["phone","otp"]}}`, adding or replacing flows. */
  file?: string;
}

export interface TokensConfig {
  /**
   * P-256 private keys (PEM) that sign our tokens: the first signs, all are published in the
   * JWKS (rotation). Empty (development only): a key generated once and kept sealed in the
   * database.
   */
  signingKeys: string[];
  /** `iss` of our tokens: the service's public base URL. */
  issuer: string;
  accessTokenTtlSeconds: number;
}

/** The app sign-in API (APP-AUTH.md). */
export interface AppAuthConfig {
  /** APP_OTP_TTL_SECONDS: how long a sign-in code lives. */
  otpTtlSeconds: number;
  /** APP_RATE_LIMIT_PER_MINUTE: requests per app key and minute. */
  rateLimitPerMinute: number;
}

export interface AppConfig {
  nodeEnv: string;
  isProduction: boolean;
  port: number;
  logLevel: LogLevel;
  database: DatabaseConfig;
  partnerJwt: { secret: string; fallback: boolean };
  otp: OtpConfig;
  notify: NotifyConfig;
  sessions: SessionsConfig;
  flows: FlowsConfig;
  tokens: TokensConfig;
  appAuth: AppAuthConfig;
  http: {
    rateLimitPerMinute: number;
    bodyLimitBytes: number;
    /** Fastify's trustProxy: false, true (any), a hop count, or addresses/CIDRs of the proxies. */
    trustProxy: boolean | number | string[];
    corsOrigins: string[];
    /** INTERNAL_PORT: where /metrics and /docs are served instead of PORT; undefined: on PORT. */
    internalPort?: number;
    /** Receiving a whole request (headers and body); past it, 408 and the connection closes. */
    requestTimeoutMs: number;
    /** Receiving a request's headers. */
    headersTimeoutMs: number;
    /** An idle keep-alive connection; longer than a load balancer's idle timeout (60 s). */
    keepAliveTimeoutMs: number;
    /** A connection with no traffic either way (a client that stopped reading its answer). */
    connectionTimeoutMs: number;
  };
  redisUrl?: string;
  /** E.164 country calling codes with the plus, e.g. "+91"; empty allows all. */
  allowedCountryCodes: string[];
  blockedNumberTypes: string[];
  /** E.164 prefixes refused as INVALID_PHONE ('+881'). */
  blockedPrefixes: string[];
  adminApiKey?: string;
  /** PUBLIC_URL: the service's external base URL (receipts, links in emails). */
  publicUrl?: string;
}

const COUNTRY_CODE = /^\+?[1-9]\d{0,2}$/;
const BLOCKED_PREFIX = /^\+[1-9]\d{0,14}$/;

/** Parses and validates the whole environment once; throws ConfigError naming each bad variable. */
export function loadConfig(env: Env): AppConfig {
  const read = new EnvReader(env);
  const nodeEnv = read.string('NODE_ENV', 'development');
  const isProduction = nodeEnv === 'production';

  const partnerJwtSecret = read.string('PARTNER_JWT_SECRET', DEV_PARTNER_JWT_SECRET);
  const otpSecret = read.string('OTP_SECRET', DEV_OTP_SECRET);
  const driver = read.oneOf('NOTIFY_DRIVER', 'console', NOTIFY_DRIVERS);
  const publicUrl = read.url('PUBLIC_URL', ['https:', 'http:'])?.replace(/\/+$/, '');

  const config: AppConfig = {
    nodeEnv,
    isProduction,
    port: read.int('PORT', 3000, 1, 65535),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    database: {
      url: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
      dataDir: read.string('DATA_DIR', './.data'),
      poolSize: read.int('DATABASE_POOL_SIZE', 10, 1, 1000),
    },
    partnerJwt: {
      secret: partnerJwtSecret,
      fallback: read.bool('PARTNER_JWT_FALLBACK', true),
    },
    otp: {
      secret: otpSecret,
      length: read.int('OTP_LENGTH', 6, 4, 10),
      ttlSeconds: read.int('OTP_TTL_SECONDS', 300, 1, 86_400),
      maxAttempts: read.int('OTP_MAX_ATTEMPTS', 5, 1, 100),
      resendCooldownSeconds: read.int('OTP_RESEND_COOLDOWN_SECONDS', 30, 0, 86_400),
      maxSendsPerPhonePerHour: read.int('OTP_MAX_SENDS_PER_PHONE_PER_HOUR', 5, 1, 1_000_000),
      maxSendsPerUserPerHour: read.int('OTP_MAX_SENDS_PER_USER_PER_HOUR', 10, 1, 1_000_000),
      maxCallsPerPhonePerHour: read.int('OTP_MAX_CALLS_PER_PHONE_PER_HOUR', 3, 1, 1_000_000),
      maxSendsPerHour: read.int('OTP_MAX_SENDS_PER_HOUR', 1000, 1, 1_000_000_000),
      maxSendsPerPrefixPerHour: read.int('OTP_MAX_SENDS_PER_PREFIX_PER_HOUR', 50, 1, 1_000_000_000),
      maxFailedVerifiesPerPhonePerHour: read.int(
        'OTP_MAX_FAILED_VERIFIES_PER_PHONE_PER_HOUR',
        10,
        1,
        1_000_000,
      ),
      maxSendsPerClientPerHour: read.int(
        'OTP_MAX_SENDS_PER_CLIENT_PER_HOUR',
        200,
        1,
        1_000_000_000,
      ),
      pumpingMinConversion: read.fraction('PUMPING_MIN_CONVERSION', 0.2),
      pumpingMinSends: read.int('PUMPING_MIN_SENDS', 30, 1, 1_000_000_000),
      maxLinkProbesPerUserPerHour: read.int('LINK_PROBES_PER_USER_PER_HOUR', 20, 1, 1_000_000),
      maxLinkProbesPerClientPerHour: read.int(
        'LINK_PROBES_PER_CLIENT_PER_HOUR',
        1000,
        1,
        1_000_000_000,
      ),
    },
    notify: {
      driver,
      file: read.string('NOTIFY_FILE'),
      timeoutMs: read.int('NOTIFY_TIMEOUT_MS', 5000, 1, 120_000),
      twilio: {
        accountSid: read.string('TWILIO_ACCOUNT_SID'),
        authToken: read.string('TWILIO_AUTH_TOKEN'),
        from: read.string('TWILIO_FROM'),
        apiUrl: read.url('TWILIO_API_URL', ['https:', 'http:']) ?? 'https://api.twilio.com',
        whatsappFrom: read.string('TWILIO_WHATSAPP_FROM'),
        whatsappContentSid: read.string('TWILIO_WHATSAPP_CONTENT_SID'),
        voiceFrom: read.string('TWILIO_VOICE_FROM') ?? read.string('TWILIO_FROM'),
        statusCallbackUrl: publicUrl && `${publicUrl}/hooks/twilio/status`,
      },
      channels: channelList(read, 'NOTIFY_CHANNELS', ['sms'], ','),
      fallback: channelList(read, 'NOTIFY_FALLBACK', [], '>'),
      fallbackAfterSeconds: read.int('NOTIFY_FALLBACK_AFTER_SECONDS', 30, 1, 86_400),
      email: {
        driver: read.oneOf('EMAIL_DRIVER', 'console', EMAIL_DRIVERS),
        smtpUrl: read.url('SMTP_URL', ['smtp:', 'smtps:']),
        from: read.string('EMAIL_FROM'),
      },
      telegram: {
        driver: read.oneOf('TELEGRAM_DRIVER', 'console', TELEGRAM_DRIVERS),
        botToken: read.string('TELEGRAM_BOT_TOKEN'),
        apiUrl: (
          read.url('TELEGRAM_API_URL', ['https:', 'http:']) ?? 'https://api.telegram.org'
        ).replace(/\/+$/, ''),
        webhookSecret: read.string('TELEGRAM_WEBHOOK_SECRET'),
        botClientId: read.string('TELEGRAM_BOT_CLIENT_ID'),
      },
      webOtpDomain: webOtpDomain(read),
    },
    sessions: {
      refreshTokenTtlSeconds: read.int('REFRESH_TOKEN_TTL_SECONDS', 2_592_000, 60, 31_622_400),
      refreshReuseGraceSeconds: read.int('REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
      sessionTtlSeconds: read.int('SESSION_TTL_SECONDS', 604_800, 60, 31_622_400),
    },
    flows: {
      ttlSeconds: read.int('FLOW_TTL_SECONDS', 900, 60, 86_400),
      file: read.string('FLOWS_FILE'),
    },
    tokens: {
      signingKeys: parseSigningKeys(read, read.string('TOKEN_SIGNING_KEYS')),
      issuer: publicUrl ?? `http://localhost:${env.PORT ?? 3000}`,
      accessTokenTtlSeconds: read.int('ACCESS_TOKEN_TTL_SECONDS', 900, 30, 86_400),
    },
    appAuth: {
      otpTtlSeconds: read.int('APP_OTP_TTL_SECONDS', 300, 30, 3_600),
      rateLimitPerMinute: read.int('APP_RATE_LIMIT_PER_MINUTE', 120, 1, 1_000_000_000),
    },
    http: {
      rateLimitPerMinute: read.int('HTTP_RATE_LIMIT_PER_MINUTE', 60, 1, 1_000_000_000),
      bodyLimitBytes: 16 * 1024,
      trustProxy: parseTrustProxy(read.list('TRUST_PROXY')),
      corsOrigins: read.list('CORS_ORIGINS'),
      internalPort:
        read.string('INTERNAL_PORT') === undefined
          ? undefined
          : read.int('INTERNAL_PORT', 0, 0, 65535),
      requestTimeoutMs: read.int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
      headersTimeoutMs: read.int('HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
      keepAliveTimeoutMs: read.int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 65_000, 100, 600_000),
      connectionTimeoutMs: read.int('HTTP_CONNECTION_TIMEOUT_MS', 120_000, 1000, 3_600_000),
    },
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    allowedCountryCodes: read.list('ALLOWED_COUNTRY_CODES').map((code) => {
      if (!COUNTRY_CODE.test(code)) {
        read.fail(
          `ALLOWED_COUNTRY_CODES entries must be + and 1-3 digits, got ${JSON.stringify(code)}`,
        );
      }
      return code.startsWith('+') ? code : `+${code}`;
    }),
    blockedNumberTypes: read.list('BLOCKED_NUMBER_TYPES', DEFAULT_BLOCKED_NUMBER_TYPES),
    blockedPrefixes: read.list('BLOCKED_PREFIXES', DEFAULT_BLOCKED_PREFIXES).map((prefix) => {
      if (!BLOCKED_PREFIX.test(prefix)) {
        read.fail(
          `BLOCKED_PREFIXES entries must be + and 1-15 digits, got ${JSON.stringify(prefix)}`,
        );
      }
      return prefix;
    }),
    adminApiKey: read.string('ADMIN_API_KEY'),
    publicUrl,
  };

  if (config.http.internalPort !== undefined && config.http.internalPort === config.port) {
    read.fail('INTERNAL_PORT must differ from PORT');
  }
  checkSecrets(read, config);
  checkNotifyDriver(read, config);
  checkHttp(read, config);
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

function checkSecrets(read: EnvReader, config: AppConfig): void {
  if (!config.isProduction) return;
  const secrets: Array<[string, string, string | undefined]> = [
    ['PARTNER_JWT_SECRET', config.partnerJwt.secret, DEV_PARTNER_JWT_SECRET],
    ['OTP_SECRET', config.otp.secret, DEV_OTP_SECRET],
  ];
  if (config.adminApiKey !== undefined) {
    secrets.push(['ADMIN_API_KEY', config.adminApiKey, undefined]);
  }
  for (const [name, value, devDefault] of secrets) {
    if (value === devDefault) {
      read.fail(`${name} must be set in production (the development default is refused)`);
    } else if (value.length < MIN_SECRET_LENGTH) {
      read.fail(`${name} must be at least ${MIN_SECRET_LENGTH} characters in production`);
    }
  }
}

/** The drivers of the enabled channels: each needs its settings, and no dev driver in production. */
function checkNotifyDriver(read: EnvReader, config: AppConfig): void {
  const { driver, file, twilio, channels, fallback, email, telegram } = config.notify;
  const enabled = (channel: Channel) => channels.includes(channel);
  const phoneChannels = channels.filter((channel) =>
    ['sms', 'whatsapp', 'voice'].includes(channel),
  );
  const used: Array<[string, string]> = [];
  if (phoneChannels.length > 0) used.push(['NOTIFY_DRIVER', driver]);
  if (enabled('email')) used.push(['EMAIL_DRIVER', email.driver]);
  if (enabled('telegram')) used.push(['TELEGRAM_DRIVER', telegram.driver]);
  for (const [name, value] of used) {
    if (config.isProduction && (value === 'console' || value === 'file')) {
      read.fail(`${name}=${value} is a development driver and is refused in production`);
    }
    if (value === 'file' && !file) read.fail(`NOTIFY_FILE must be set when ${name}=file`);
  }
  if (phoneChannels.length > 0 && driver === 'twilio') {
    const needed: Array<[string, string | undefined]> = [
      ['TWILIO_ACCOUNT_SID', twilio.accountSid],
      ['TWILIO_AUTH_TOKEN', twilio.authToken],
    ];
    if (enabled('sms')) needed.push(['TWILIO_FROM', twilio.from]);
    if (enabled('voice')) needed.push(['TWILIO_VOICE_FROM (or TWILIO_FROM)', twilio.voiceFrom]);
    for (const [name, value] of needed) {
      if (!value) read.fail(`${name} must be set when NOTIFY_DRIVER=twilio`);
    }
    if (enabled('whatsapp')) {
      const from = twilio.whatsappFrom;
      if (!from || !/^(whatsapp:\+[1-9]\d{1,14}|MG[0-9a-fA-F]{32})$/.test(from)) {
        read.fail(
          'TWILIO_WHATSAPP_FROM must be whatsapp:+<E.164> or a Messaging Service SID (MG…) when whatsapp is enabled',
        );
      }
    }
  }
  if (
    twilio.whatsappContentSid !== undefined &&
    !/^HX[0-9a-fA-F]{32}$/.test(twilio.whatsappContentSid)
  ) {
    read.fail('TWILIO_WHATSAPP_CONTENT_SID must be a content SID (HX and 32 hex digits)');
  }
  if (enabled('email') && email.driver === 'smtp') {
    if (!email.smtpUrl) read.fail('SMTP_URL must be set when EMAIL_DRIVER=smtp');
    if (!email.from) read.fail('EMAIL_FROM must be set when EMAIL_DRIVER=smtp');
    if (config.isProduction && /rejectunauthorized=(false|0)/i.test(email.smtpUrl ?? '')) {
      read.fail('SMTP_URL must not turn off certificate checks in production');
    }
  }
  if (enabled('telegram') && telegram.driver === 'telegram' && !telegram.botToken) {
    read.fail('TELEGRAM_BOT_TOKEN must be set when TELEGRAM_DRIVER=telegram');
  }
  if (
    telegram.botToken !== undefined &&
    !/^\d{1,20}:[A-Za-z0-9_-]{20,100}$/.test(telegram.botToken)
  ) {
    read.fail('TELEGRAM_BOT_TOKEN must look like 123456:ABC… (the token BotFather gives)');
  }
  for (const channel of fallback) {
    if (!enabled(channel))
      read.fail(`NOTIFY_FALLBACK names ${channel}, which NOTIFY_CHANNELS does not enable`);
  }
}

/** A list of channels (`sms,whatsapp` or `sms>whatsapp>voice`), each known and named once. */
function channelList(
  read: EnvReader,
  name: string,
  fallback: Channel[],
  separator: string,
): Channel[] {
  const raw = read.string(name);
  if (raw === undefined) return fallback;
  const entries = raw.split(separator).map((entry) => entry.trim().toLowerCase());
  const channels: Channel[] = [];
  for (const entry of entries) {
    if (!(CHANNELS as readonly string[]).includes(entry)) {
      read.fail(
        `${name} entries must be one of ${CHANNELS.join(', ')}, got ${JSON.stringify(entry.slice(0, 40))}`,
      );
    } else if (channels.includes(entry as Channel)) {
      read.fail(`${name} names ${entry} twice`);
    } else {
      channels.push(entry as Channel);
    }
  }
  return channels;
}

/** WEBOTP_DOMAIN: a bare host name (no scheme, port or path), as the WebOTP line wants it. */
function webOtpDomain(read: EnvReader): string | undefined {
  const value = read.string('WEBOTP_DOMAIN')?.toLowerCase();
  if (value === undefined) return undefined;
  if (
    !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/.test(
      value,
    )
  ) {
    read.fail('WEBOTP_DOMAIN must be a host name such as example.com');
    return undefined;
  }
  return value;
}

function checkHttp(read: EnvReader, config: AppConfig): void {
  const { http, notify } = config;
  if (http.headersTimeoutMs > http.requestTimeoutMs) {
    read.fail('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  if (http.connectionTimeoutMs <= notify.timeoutMs) {
    // A register waits up to NOTIFY_TIMEOUT_MS for the provider with nothing on the wire.
    read.fail('HTTP_CONNECTION_TIMEOUT_MS must exceed NOTIFY_TIMEOUT_MS');
  }
  if (config.isProduction && http.trustProxy === true) {
    read.fail(TRUST_ANY_PROXY);
  }
}

const TRUST_ANY_PROXY =
  'TRUST_PROXY=true believes the leftmost X-Forwarded-For address, which any client can forge; ' +
  "give the proxies' addresses, or their number (e.g. 1) when they are the only way in";

const PEM_PRIVATE_KEY =
  /-----BEGIN (EC |)PRIVATE KEY-----[A-Za-z0-9+/=\s]+-----END \1PRIVATE KEY-----/g;

/**
 * TOKEN_SIGNING_KEYS: PEM private keys one after another (newlines may be written `\n`), each
 * P-256. Unset: none.
 */
function parseSigningKeys(read: EnvReader, value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  const pems = [...value.replace(/\\n/g, '\n').matchAll(PEM_PRIVATE_KEY)].map((m) => m[0]);
  if (pems.length === 0) {
    read.fail('TOKEN_SIGNING_KEYS must hold PEM private keys (-----BEGIN PRIVATE KEY-----)');
  }
  pems.forEach((pem, index) => {
    try {
      const key = createPrivateKey(pem);
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
        read.fail(`TOKEN_SIGNING_KEYS key ${index + 1} is not a P-256 (ES256) key`);
      }
    } catch {
      read.fail(`TOKEN_SIGNING_KEYS key ${index + 1} is not a readable private key`);
    }
  });
  return pems;
}

const NO_SIGNING_KEYS =
  'TOKEN_SIGNING_KEYS is not set: in production no key is generated, so app sign-in and ' +
  'verification tokens are off and the JWKS is empty';

/** What is allowed but unsafe (or off), to be logged at start. */
export function configWarnings(config: AppConfig, shutdownGraceMs?: number): string[] {
  return [
    ...(config.http.trustProxy === true ? [TRUST_ANY_PROXY] : []),
    ...(config.isProduction && config.tokens.signingKeys.length === 0 ? [NO_SIGNING_KEYS] : []),
    ...(shutdownGraceMs !== undefined && config.notify.timeoutMs >= shutdownGraceMs
      ? [slowProviderAtShutdown(config.notify.timeoutMs, shutdownGraceMs)]
      : []),
  ];
}

/**
 * A first delivery still waiting on the provider when shutdown stops waiting is not recorded as
 * sent, so the outbox poller sends it again after its lease: the user may get the code twice.
 */
function slowProviderAtShutdown(timeoutMs: number, graceMs: number): string {
  return (
    `NOTIFY_TIMEOUT_MS (${timeoutMs}) is not under the shutdown's grace (${graceMs} ms): a ` +
    'first delivery still waiting on the provider at shutdown is sent again by the outbox, ' +
    'so a user may get the code twice'
  );
}

/** TRUST_PROXY: unset → trust none; "true" → any; a number → that many hops; else addresses. */
function parseTrustProxy(entries: string[]): boolean | number | string[] {
  if (entries.length === 0) return false;
  if (entries.length === 1 && entries[0].toLowerCase() === 'true') return true;
  if (entries.length === 1 && /^\d+$/.test(entries[0])) return Number(entries[0]);
  return entries;
}
