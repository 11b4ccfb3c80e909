import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG, AppConfig } from '@app/config';
import { describeError } from '@app/common';
import type { EmbeddedDatabase } from './embedded/embedded-database';
import { EMBEDDED_DATABASE } from './embedded/embedded-database.token';

export interface NotificationSubscriber {
  onMessage(payload: string): void;
  /** Notifications may have been missed (the listening connection was down): start afresh. */
  onReset(): void;
}

const CHANNEL = /^[a-z][a-z0-9_]{0,62}$/;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/**
 * PostgreSQL's LISTEN/NOTIFY for the whole process: one dedicated connection (outside the
 * request pool, which hands connections back after each use), reconnected with backoff when
 * lost. On the embedded database the one session listens (the LISTEN runs under its lock).
 * Delivery is best effort: subscribers must be correct without it (caches keep a TTL) and
 * start afresh on `onReset`.
 */
@Injectable()
export class DatabaseNotifications implements OnModuleDestroy {
  private readonly logger = new Logger(DatabaseNotifications.name);
  private readonly subscribers = new Map<string, NotificationSubscriber[]>();
  private client?: Client;
  private retryMs = RETRY_MIN_MS;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private stopEmbedded?: () => void;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(EMBEDDED_DATABASE) private readonly embedded: EmbeddedDatabase | null,
  ) {}

  async subscribe(channel: string, subscriber: NotificationSubscriber): Promise<void> {
    if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
    const known = this.subscribers.get(channel);
    this.subscribers.set(channel, [...(known ?? []), subscriber]);
    if (known) return;
    if (this.embedded) {
      await this.listenEmbedded(channel);
    } else if (this.client) {
      await this.client.query(`LISTEN ${channel}`);
    } else {
      await this.connect();
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stopEmbedded?.();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async listenEmbedded(channel: string): Promise<void> {
    const embedded = this.embedded as EmbeddedDatabase;
    this.stopEmbedded ??= embedded.db.onNotification((name, payload) =>
      this.deliver(name, payload),
    );
    // Through the pool, so the LISTEN cannot land inside someone else's open transaction.
    await new embedded.driver.Pool().query(`LISTEN ${channel}`);
  }

  private async connect(): Promise<void> {
    if (this.stopped || !this.config.database.url) return;
    const client = new Client({
      connectionString: this.config.database.url,
      application_name: 'otp-link-listener',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 5_000,
    });
    client.on('notification', (message) => this.deliver(message.channel, message.payload ?? ''));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.subscribers.keys()) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = RETRY_MIN_MS;
    this.resetAll(); // whatever changed while nobody listened
  }

  private lost(client: Client, error?: unknown): void {
    if (this.client === client) this.client = undefined;
    client.removeAllListeners('end');
    client.on('error', () => undefined); // a closing client may still report its socket's end
    void client.end().catch(() => undefined);
    if (this.stopped || this.retryTimer) return;
    this.logger.warn(
      { err: error ? describeError(error) : undefined, retryInMs: this.retryMs },
      'database notifications connection lost; reconnecting',
    );
    this.resetAll();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private deliver(channel: string, payload: string): void {
    for (const subscriber of this.subscribers.get(channel) ?? []) subscriber.onMessage(payload);
  }

  private resetAll(): void {
    for (const list of this.subscribers.values()) for (const s of list) s.onReset();
  }
}
