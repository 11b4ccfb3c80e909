import { createHash, randomBytes } from 'node:crypto';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LRUCache } from 'lru-cache';
import { AppError, ErrorCode } from '@app/common';
import { AuditService } from '@app/audit';
import { DatabaseNotifications } from '@app/database';
import type { KeyStatus } from './entities/partner-client-key.entity';
import {
  PartnerDirectory,
  PARTNER_CACHE_MAX,
  PARTNER_CACHE_TTL_MS,
  PARTNER_CHANGES_CHANNEL,
} from './partner-directory';

/** A recognisable prefix: secret scanners and people tell an otp-link app key. */
const APP_KEY_PREFIX = 'olk_';
const APP_KEY_BYTES = 32;
const APP_KEY = /^olk_[A-Za-z0-9_-]{43}$/;
/** Active app keys per client: a rotation ships a new one while the old still works. */
export const MAX_ACTIVE_APP_KEYS = 5;
export const MAX_ALLOWED_ORIGINS = 20;
const MAX_ORIGIN_LENGTH = 256;

export interface AppKeyView {
  id: string;
  status: KeyStatus;
  createdAt: string;
  retiredAt: string | null;
}

/** A key just issued: the key itself is shown this once. */
export interface IssuedAppKey {
  id: string;
  appKey: string;
}

/** What an `x-api-key` names, once resolved: an active key of an existing client. */
export interface ResolvedAppKey {
  keyId: string;
  clientId: string;
}

export function appKeyHash(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Whether a value has the shape of an app key (checked before any lookup). */
export function isAppKey(value: unknown): value is string {
  return typeof value === 'string' && APP_KEY.test(value);
}

/**
 * An origin as browsers send it: `scheme://host[:port]`, lower case, no path. Anything else is
 * refused (VALIDATION_FAILED), so a list never holds a value no `Origin` header can equal.
 */
export function checkOrigins(origins: string[]): string[] {
  const problems: string[] = [];
  if (origins.length > MAX_ALLOWED_ORIGINS) problems.push(`at most ${MAX_ALLOWED_ORIGINS} origins`);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed =
        typeof origin === 'string' && origin.length <= MAX_ORIGIN_LENGTH
          ? new URL(origin)
          : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      problems.push(
        `${JSON.stringify(String(origin).slice(0, 80))} is not an origin like https://app.example.com`,
      );
    }
  }
  if (problems.length > 0) {
    throw new AppError(ErrorCode.ValidationFailed, {
      details: problems.map((message) => ({ field: 'origins', message })),
    });
  }
  return [...new Set(origins)];
}

const NONE = Symbol('none');

/**
 * Partner clients' app keys: issued (the key printed once, its SHA-256 kept), listed, retired,
 * and resolved on the request path through a per-instance cache that the registry's change
 * notifications empty for a client at once (a retired key, a suspended client).
 */
@Injectable()
export class AppKeys implements OnApplicationBootstrap {
  private readonly cache = new LRUCache<string, ResolvedAppKey | typeof NONE>({
    max: PARTNER_CACHE_MAX,
    ttl: PARTNER_CACHE_TTL_MS,
  });
  private generation = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly notifications: DatabaseNotifications,
    private readonly directory: PartnerDirectory,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.notifications.subscribe(PARTNER_CHANGES_CHANNEL, {
      onMessage: (clientId) => this.forget(clientId),
      onReset: () => this.forgetAll(),
    });
  }

  /**
   * A new app key beside the client's others (at most MAX_ACTIVE_APP_KEYS active); audited as
   * `key_added`, except the first one, issued with the client (its `client_created` says it).
   */
  async issue(clientId: string, options: { withClient?: boolean } = {}): Promise<IssuedAppKey> {
    const appKey = APP_KEY_PREFIX + randomBytes(APP_KEY_BYTES).toString('base64url');
    const id = `ak_${randomBytes(8).toString('hex')}`;
    await this.dataSource.transaction(async (manager) => {
      const [client] = await manager.query<Array<{ active: number }>>(
        `SELECT (SELECT count(*)::int FROM partner_app_keys
                  WHERE client_id = c.id AND status = 'active') AS active
           FROM partner_clients c WHERE c.id = $1 FOR UPDATE`,
        [clientId],
      );
      if (!client) throw notFound(clientId);
      if (client.active >= MAX_ACTIVE_APP_KEYS) {
        throw new AppError(
          ErrorCode.Conflict,
          {},
          `a client has at most ${MAX_ACTIVE_APP_KEYS} active app keys: retire one first`,
        );
      }
      await manager.query(
        `INSERT INTO partner_app_keys (id, client_id, key_hash) VALUES ($1, $2, $3)`,
        [id, clientId, appKeyHash(appKey)],
      );
      if (options.withClient) return;
      await this.audit.record(
        [{ event: 'key_added', actor: 'admin', clientId, detail: `app key ${id}` }],
        manager,
      );
    });
    return { id, appKey };
  }

  async list(
    clientId: string,
  ): Promise<{ appKeys: AppKeyView[]; allowedOrigins: string[] | null }> {
    const rows = await this.dataSource.query<
      Array<{
        allowed_origins: string[] | null;
        keys: Array<{
          id: string;
          status: KeyStatus;
          created_at: string;
          retired_at: string | null;
        }>;
      }>
    >(
      `SELECT c.allowed_origins,
              COALESCE((SELECT json_agg(json_build_object('id', k.id, 'status', k.status,
                          'created_at', k.created_at, 'retired_at', k.retired_at)
                          ORDER BY k.created_at, k.id)
                          FROM partner_app_keys k WHERE k.client_id = c.id), '[]') AS keys
         FROM partner_clients c WHERE c.id = $1`,
      [clientId],
    );
    if (!rows[0]) throw notFound(clientId);
    return {
      appKeys: rows[0].keys.map((key) => ({
        id: key.id,
        status: key.status,
        createdAt: new Date(key.created_at).toISOString(),
        retiredAt: key.retired_at ? new Date(key.retired_at).toISOString() : null,
      })),
      allowedOrigins: rows[0].allowed_origins,
    };
  }

  /** The key stops working at once, on every instance. */
  async retire(clientId: string, keyId: string) {
    await this.dataSource.transaction(async (manager) => {
      const [, updated] = await manager.query<[unknown[], number]>(
        `UPDATE partner_app_keys SET status = 'retired', retired_at = now()
          WHERE client_id = $1 AND id = $2 AND status = 'active'`,
        [clientId, keyId],
      );
      if (updated === 0) {
        const [known] = await manager.query<unknown[]>(
          `SELECT 1 FROM partner_app_keys WHERE client_id = $1 AND id = $2`,
          [clientId, keyId],
        );
        if (!known) {
          throw new AppError(
            ErrorCode.RecordNotFound,
            {},
            `client has no app key ${JSON.stringify(keyId)}`,
          );
        }
        return;
      }
      await this.audit.record(
        [{ event: 'key_retired', actor: 'admin', clientId, detail: `app key ${keyId}` }],
        manager,
      );
    });
    return this.list(clientId);
  }

  /** The browser origins the client's app keys may be used from; null or [] clears (any). */
  async setAllowedOrigins(clientId: string, origins: string[] | null) {
    const checked = origins && origins.length > 0 ? checkOrigins(origins) : null;
    await this.dataSource.transaction(async (manager) => {
      const [, updated] = await manager.query<[unknown[], number]>(
        `UPDATE partner_clients SET allowed_origins = $2, updated_at = now() WHERE id = $1`,
        [clientId, checked],
      );
      if (updated === 0) throw notFound(clientId);
      await this.audit.record(
        [{ event: 'client_updated', actor: 'admin', clientId, detail: 'set allowedOrigins' }],
        manager,
      );
    });
    return this.list(clientId);
  }

  /** The active key `key` is, or undefined (unknown, retired, malformed). */
  async resolve(key: unknown): Promise<ResolvedAppKey | undefined> {
    if (!isAppKey(key)) return undefined;
    const hash = appKeyHash(key).toString('base64url');
    const cached = this.cache.get(hash);
    if (cached !== undefined) return cached === NONE ? undefined : cached;
    const generation = this.generation;
    const rows = await this.dataSource.query<Array<{ id: string; client_id: string }>>(
      `SELECT id, client_id FROM partner_app_keys WHERE key_hash = $1 AND status = 'active'`,
      [appKeyHash(key)],
    );
    const found = rows[0] ? { keyId: rows[0].id, clientId: rows[0].client_id } : undefined;
    if (generation === this.generation) this.cache.set(hash, found ?? NONE);
    return found;
  }

  /** The client behind a key, when the key is active and the client registered. */
  async client(key: unknown) {
    const resolved = await this.resolve(key);
    if (!resolved) return undefined;
    const client = await this.directory.find(resolved.clientId);
    return client ? { key: resolved, client } : undefined;
  }

  /** Drops what is cached of a client's keys (its change notification does the same). */
  forget(clientId: string): void {
    this.generation++;
    for (const [hash, entry] of this.cache.entries()) {
      // A new key of any client may have been cached as unknown: drop those too.
      if (entry === NONE || entry.clientId === clientId) this.cache.delete(hash);
    }
  }

  private forgetAll(): void {
    this.generation++;
    this.cache.clear();
  }
}

function notFound(id: string): AppError {
  return new AppError(ErrorCode.RecordNotFound, {}, `no client ${JSON.stringify(id)}`);
}
