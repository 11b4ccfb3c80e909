import { createPublicKey, KeyObject } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG, AppConfig } from '@app/config';
import { describeError } from '@app/common';
import { DatabaseNotifications } from '@app/database';
import type { ClientStatus } from './entities/partner-client.entity';
import type { KeyAlgorithm } from './entities/partner-client-key.entity';
import { hmacKey } from './key-material';
import { PartnerKeyBox } from './partner-key-box';

export interface VerificationKey {
  kid: string;
  algorithm: KeyAlgorithm;
  key: KeyObject;
}

/** A registered client as the request path needs it: its keys ready to verify with. */
export interface RegisteredClient {
  id: string;
  name: string;
  status: ClientStatus;
  allowedCountryCodes: string[] | null;
  hourlySendBudget: number | null;
  senderName: string | null;
  messageTemplate: string | null;
  messageTemplates: Record<string, string> | null;
  androidAppHash: string | null;
  /** Browser origins its app keys may be used from; null: any. */
  allowedOrigins?: string[] | null;
  /** Active keys only. */
  keys: VerificationKey[];
  /** Kids of retired keys, so a token naming one gets a clear answer. */
  retiredKids: ReadonlySet<string>;
  apiSecretHash: Buffer;
}

/** The channel the registry tables' trigger notifies, with the changed client's id. */
export const PARTNER_CHANGES_CHANNEL = 'partner_clients_changed';
/**
 * How long a cached client (or "not registered") is trusted without news. Changes normally
 * arrive within milliseconds by notification; this bounds staleness when one is missed.
 */
export const PARTNER_CACHE_TTL_MS = 10_000;
/** Clients cached per instance, and as many ids known not to be registered, apart. */
export const PARTNER_CACHE_MAX = 10_000;

const UNREGISTERED = Symbol('unregistered');
type Entry = RegisteredClient | typeof UNREGISTERED;

interface ClientRow {
  id: string;
  name: string;
  status: ClientStatus;
  allowed_country_codes: string[] | null;
  hourly_send_budget: number | null;
  sender_name: string | null;
  message_template: string | null;
  message_templates: Record<string, string> | null;
  android_app_hash: string | null;
  allowed_origins: string[] | null;
  api_secret_hash: Buffer;
  keys: Array<{
    kid: string;
    algorithm: KeyAlgorithm;
    status: 'active' | 'retired';
    secret: string | null;
    pem: string | null;
  }>;
}

/**
 * Looks partner clients up on the request path. Every instance caches what it read (bounded,
 * short TTL) and drops a client the moment the database announces a change to it, so a
 * suspension or a retired key takes effect on all instances at once, without a query per
 * request. Concurrent lookups of one uncached client share one query.
 */
@Injectable()
export class PartnerDirectory implements OnApplicationBootstrap {
  private readonly logger = new Logger(PartnerDirectory.name);
  private readonly keyBox: PartnerKeyBox;
  private readonly registered = new LRUCache<string, RegisteredClient>({
    max: PARTNER_CACHE_MAX,
    ttl: PARTNER_CACHE_TTL_MS,
  });
  // Apart from the clients: any caller can name ids that do not exist (an unsigned token's
  // claim, an x-client-id), and a flood of them must not push the real clients out.
  private readonly unregistered = new LRUCache<string, true>({
    max: PARTNER_CACHE_MAX,
    ttl: PARTNER_CACHE_TTL_MS,
  });
  private readonly loading = new Map<string, Promise<Entry>>();
  /** Bumped by every invalidation: a load that began before it must not be cached. */
  private generation = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: DatabaseNotifications,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keyBox = new PartnerKeyBox(config.otp.secret);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.notifications.subscribe(PARTNER_CHANGES_CHANNEL, {
      onMessage: (clientId) => this.forget(clientId),
      onReset: () => this.forgetAll(),
    });
  }

  /** The registered client with this id, or undefined when there is none. */
  async find(clientId: string): Promise<RegisteredClient | undefined> {
    const cached = this.registered.get(clientId);
    if (cached) return cached;
    if (this.unregistered.get(clientId)) return undefined;
    const entry = await this.load(clientId);
    return entry === UNREGISTERED ? undefined : entry;
  }

  forget(clientId: string): void {
    this.generation++;
    this.registered.delete(clientId);
    this.unregistered.delete(clientId);
    this.loading.delete(clientId);
  }

  forgetAll(): void {
    this.generation++;
    this.registered.clear();
    this.unregistered.clear();
    this.loading.clear();
  }

  private load(clientId: string): Promise<Entry> {
    const pending = this.loading.get(clientId);
    if (pending) return pending;
    const generation = this.generation;
    const loaded = this.read(clientId).then(
      (entry) => {
        if (this.loading.get(clientId) === loaded) this.loading.delete(clientId);
        if (generation === this.generation) {
          if (entry === UNREGISTERED) this.unregistered.set(clientId, true);
          else this.registered.set(clientId, entry);
        }
        return entry;
      },
      (error: unknown) => {
        if (this.loading.get(clientId) === loaded) this.loading.delete(clientId);
        throw error;
      },
    );
    this.loading.set(clientId, loaded);
    return loaded;
  }

  private async read(clientId: string): Promise<Entry> {
    const rows = await this.dataSource.query<ClientRow[]>(
      `SELECT c.id, c.name, c.status, c.allowed_country_codes, c.hourly_send_budget,
              c.sender_name, c.message_template, c.message_templates, c.android_app_hash,
              c.allowed_origins, c.api_secret_hash,
              COALESCE((SELECT json_agg(json_build_object(
                          'kid', k.kid, 'algorithm', k.algorithm, 'status', k.status,
                          'secret', encode(k.secret_sealed, 'base64'), 'pem', k.public_key_pem))
                          FROM partner_client_keys k WHERE k.client_id = c.id), '[]') AS keys
         FROM partner_clients c WHERE c.id = $1`,
      [clientId],
    );
    const row = rows[0];
    if (!row) return UNREGISTERED;
    const keys: VerificationKey[] = [];
    for (const key of row.keys) {
      if (key.status !== 'active') continue;
      const opened = this.openKey(row.id, key);
      if (opened) keys.push({ kid: key.kid, algorithm: key.algorithm, key: opened });
    }
    return {
      id: row.id,
      name: row.name,
      status: row.status,
      allowedCountryCodes: row.allowed_country_codes,
      hourlySendBudget: row.hourly_send_budget,
      senderName: row.sender_name,
      messageTemplate: row.message_template,
      messageTemplates: row.message_templates,
      androidAppHash: row.android_app_hash,
      allowedOrigins: row.allowed_origins,
      keys,
      retiredKids: new Set(row.keys.filter((k) => k.status === 'retired').map((k) => k.kid)),
      apiSecretHash: Buffer.from(row.api_secret_hash),
    };
  }

  /** A key that cannot be opened (OTP_SECRET changed since it was sealed) verifies nothing. */
  private openKey(clientId: string, key: ClientRow['keys'][number]): KeyObject | undefined {
    try {
      if (key.algorithm === 'HS256') {
        const sealed = Buffer.from(key.secret ?? '', 'base64');
        return hmacKey(this.keyBox.open(sealed, clientId, key.kid));
      }
      return createPublicKey(key.pem ?? '');
    } catch (error) {
      this.logger.error(
        { clientId, kid: key.kid, err: describeError(error) },
        'partner key cannot be opened; tokens signed with it are refused',
      );
      return undefined;
    }
  }
}
