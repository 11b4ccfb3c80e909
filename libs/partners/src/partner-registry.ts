import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError, decodeCursor, ErrorCode, Page, pageSize, toPage } from '@app/common';
import { AuditRecord, AuditService } from '@app/audit';
import { checkClientId, checkSettings, ClientSettings } from './client-rules';
import type { ClientStatus } from './entities/partner-client.entity';
import type { KeyAlgorithm, KeyStatus } from './entities/partner-client-key.entity';
import { hashApiSecret, newApiSecret, newHmacSecret, newKid, readPublicKey } from './key-material';
import { PartnerKeyBox } from './partner-key-box';

export interface ClientKeyView {
  kid: string;
  algorithm: KeyAlgorithm;
  status: KeyStatus;
  createdAt: string;
  retiredAt: string | null;
}

/** A client as operators see it: settings and keys, never a secret. */
export interface ClientView {
  id: string;
  name: string;
  status: ClientStatus;
  allowedCountryCodes: string[] | null;
  hourlySendBudget: number | null;
  senderName: string | null;
  messageTemplate: string | null;
  messageTemplates: Record<string, string> | null;
  androidAppHash: string | null;
  createdAt: string;
  updatedAt: string;
  keys: ClientKeyView[];
}

/** A key just added; an HS256 secret is shown this once and never again. */
export interface IssuedKey {
  kid: string;
  algorithm: KeyAlgorithm;
  secret?: string;
}

/** A public key for a partner that signs with RS256 / ES256 instead of a shared secret. */
export interface PublicKeyInput {
  publicKeyPem?: string;
  algorithm?: KeyAlgorithm;
}

export interface NewClient extends ClientSettings, PublicKeyInput {
  id?: string;
  name: string;
}

/** Tokens without `kid` are tried against each active key: keep that short. */
export const MAX_ACTIVE_KEYS = 5;

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
  created_at: Date;
  updated_at: Date;
  keys: Array<{
    kid: string;
    algorithm: KeyAlgorithm;
    status: KeyStatus;
    created_at: string;
    retired_at: string | null;
  }>;
}

const CLIENT_COLUMNS = `c.id, c.name, c.status, c.allowed_country_codes, c.hourly_send_budget,
  c.sender_name, c.message_template, c.message_templates, c.android_app_hash,
  c.created_at, c.updated_at,
  COALESCE((SELECT json_agg(json_build_object('kid', k.kid, 'algorithm', k.algorithm,
                'status', k.status, 'created_at', k.created_at, 'retired_at', k.retired_at)
              ORDER BY k.created_at, k.kid)
              FROM partner_client_keys k WHERE k.client_id = c.id), '[]') AS keys`;

const SETTING_COLUMNS: Record<keyof ClientSettings, string> = {
  name: 'name',
  allowedCountryCodes: 'allowed_country_codes',
  hourlySendBudget: 'hourly_send_budget',
  senderName: 'sender_name',
  messageTemplate: 'message_template',
  messageTemplates: 'message_templates',
  androidAppHash: 'android_app_hash',
};

function notFound(id: string): AppError {
  return new AppError(ErrorCode.RecordNotFound, {}, `no client ${JSON.stringify(id)}`);
}

/**
 * The partner registry: clients, their JWT keys (HS256 secrets sealed at rest, or public keys),
 * their settings and their API secret. Operators are its only writers: each change commits with
 * its audit event (actor `admin`), and reaches every instance's cache through the table
 * triggers' notifications (see PartnerDirectory).
 */
@Injectable()
export class PartnerRegistry {
  private readonly keyBox: PartnerKeyBox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keyBox = new PartnerKeyBox(config.otp.secret);
  }

  async create(input: NewClient): Promise<{
    client: ClientView;
    jwtKey: IssuedKey;
    apiSecret: string;
  }> {
    const id = input.id === undefined ? randomUUID() : checkClientId(input.id);
    const settings = checkSettings({
      name: input.name,
      allowedCountryCodes: input.allowedCountryCodes,
      hourlySendBudget: input.hourlySendBudget,
      senderName: input.senderName,
      messageTemplate: input.messageTemplate,
      messageTemplates: input.messageTemplates,
      androidAppHash: input.androidAppHash,
    });
    const apiSecret = newApiSecret();
    const jwtKey = await this.dataSource.transaction(async (manager) => {
      try {
        await manager.query(
          `INSERT INTO partner_clients
             (id, name, allowed_country_codes, hourly_send_budget, sender_name, message_template,
              message_templates, android_app_hash, api_secret_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            id,
            settings.name,
            settings.allowedCountryCodes ?? null,
            settings.hourlySendBudget ?? null,
            settings.senderName ?? null,
            settings.messageTemplate ?? null,
            settings.messageTemplates ?? null,
            settings.androidAppHash ?? null,
            hashApiSecret(apiSecret),
          ],
        );
      } catch (error) {
        if (isUniqueViolation(error, 'pk_partner_clients')) {
          throw new AppError(ErrorCode.Conflict, {}, `client ${JSON.stringify(id)} exists already`);
        }
        throw error;
      }
      const key = await this.insertKey(manager, id, input);
      await this.audited(manager, id, 'client_created', `key ${key.kid} (${key.algorithm})`);
      return key;
    });
    return { client: await this.get(id), jwtKey, apiSecret };
  }

  async get(id: string): Promise<ClientView> {
    const rows = await this.dataSource.query<ClientRow[]>(
      `SELECT ${CLIENT_COLUMNS} FROM partner_clients c WHERE c.id = $1`,
      [id],
    );
    if (!rows[0]) throw notFound(id);
    return toView(rows[0]);
  }

  /** Clients in the order they were registered, `limit` at a time. */
  async list(
    options: { status?: ClientStatus; limit?: number; cursor?: string } = {},
  ): Promise<Page<ClientView>> {
    const limit = pageSize(options.limit);
    const [afterCreated, afterId] = options.cursor
      ? decodeCursor(options.cursor, ['timestamp', 'string'])
      : [null, null];
    const rows = await this.dataSource.query<Array<ClientRow & { created_text: string }>>(
      `SELECT ${CLIENT_COLUMNS}, c.created_at::text AS created_text FROM partner_clients c
        WHERE ($1::varchar IS NULL OR c.status = $1)
          AND ($2::timestamptz IS NULL OR (c.created_at, c.id) > ($2::timestamptz, $3::varchar))
        ORDER BY c.created_at, c.id
        LIMIT $4`,
      [options.status ?? null, afterCreated, afterId, limit + 1],
    );
    return toPage(rows, limit, toView, (row) => [row.created_text, row.id]);
  }

  async update(id: string, settings: ClientSettings): Promise<ClientView> {
    const checked = checkSettings(settings);
    const entries = Object.entries(checked) as Array<[keyof ClientSettings, unknown]>;
    if (entries.length > 0) {
      const assignments = entries.map(([field], i) => `${SETTING_COLUMNS[field]} = $${i + 2}`);
      await this.changeClient(
        id,
        `UPDATE partner_clients SET ${assignments.join(', ')}, updated_at = now() WHERE id = $1`,
        entries.map(([, value]) => value),
        'client_updated',
        `set ${entries.map(([field]) => field).join(', ')}`,
      );
    }
    return this.get(id);
  }

  async setStatus(id: string, status: ClientStatus): Promise<ClientView> {
    await this.changeClient(
      id,
      `UPDATE partner_clients SET status = $2, updated_at = now() WHERE id = $1`,
      [status],
      status === 'suspended' ? 'client_suspended' : 'client_activated',
    );
    return this.get(id);
  }

  /**
   * Rotation, step one: a new key beside the current ones (an HS256 secret unless a public key
   * is given). Tokens signed with either verify until the old key is retired.
   */
  async addKey(id: string, input: PublicKeyInput = {}): Promise<IssuedKey> {
    return this.dataSource.transaction(async (manager) => {
      // Locks the client row: concurrent rotations count the active keys one at a time.
      const [client] = await manager.query<Array<{ active: number }>>(
        `SELECT (SELECT count(*)::int FROM partner_client_keys
                  WHERE client_id = c.id AND status = 'active') AS active
           FROM partner_clients c WHERE c.id = $1 FOR UPDATE`,
        [id],
      );
      if (!client) throw notFound(id);
      if (client.active >= MAX_ACTIVE_KEYS) {
        throw new AppError(
          ErrorCode.Conflict,
          {},
          `a client has at most ${MAX_ACTIVE_KEYS} active keys: retire one first`,
        );
      }
      const key = await this.insertKey(manager, id, input);
      await this.audited(manager, id, 'key_added', `key ${key.kid} (${key.algorithm})`);
      return key;
    });
  }

  /** Rotation, step two: the key stops verifying tokens. The last active key cannot go. */
  async retireKey(id: string, kid: string): Promise<ClientView> {
    await this.dataSource.transaction(async (manager) => {
      const keys = await manager.query<Array<{ kid: string; status: KeyStatus }>>(
        `SELECT k.kid, k.status FROM partner_clients c
           LEFT JOIN partner_client_keys k ON k.client_id = c.id
          WHERE c.id = $1 FOR UPDATE OF c`,
        [id],
      );
      if (keys.length === 0) throw notFound(id);
      const key = keys.find((k) => k.kid === kid);
      if (!key)
        throw new AppError(
          ErrorCode.RecordNotFound,
          {},
          `client has no key ${JSON.stringify(kid)}`,
        );
      if (key.status === 'retired') return;
      if (keys.filter((k) => k.status === 'active').length === 1) {
        throw new AppError(
          ErrorCode.Conflict,
          {},
          'the last active key cannot be retired: add a new one first, or suspend the client',
        );
      }
      await manager.query(
        `UPDATE partner_client_keys SET status = 'retired', retired_at = now()
          WHERE client_id = $1 AND kid = $2`,
        [id, kid],
      );
      await this.audited(manager, id, 'key_retired', `key ${kid}`);
    });
    return this.get(id);
  }

  /** A new API secret for the server-to-server API; the old one stops working at once. */
  async rotateApiSecret(id: string): Promise<string> {
    const apiSecret = newApiSecret();
    await this.changeClient(
      id,
      `UPDATE partner_clients SET api_secret_hash = $2, updated_at = now() WHERE id = $1`,
      [hashApiSecret(apiSecret)],
      'api_secret_rotated',
    );
    return apiSecret;
  }

  /**
   * An active HS256 secret of the client (the newest, or the one named), for minting
   * development tokens the way the partner would.
   */
  async signingSecret(id: string, kid?: string): Promise<{ kid: string; secret: string }> {
    await this.get(id); // RECORD_NOT_FOUND for an unknown client
    const rows = await this.dataSource.query<Array<{ kid: string; secret_sealed: Buffer }>>(
      `SELECT kid, secret_sealed FROM partner_client_keys
        WHERE client_id = $1 AND algorithm = 'HS256' AND status = 'active'
          AND ($2::varchar IS NULL OR kid = $2)
        ORDER BY created_at DESC, kid DESC LIMIT 1`,
      [id, kid ?? null],
    );
    if (!rows[0]) {
      throw new AppError(ErrorCode.RecordNotFound, {}, 'client has no such active HS256 key');
    }
    return { kid: rows[0].kid, secret: this.keyBox.open(rows[0].secret_sealed, id, rows[0].kid) };
  }

  /** One UPDATE of the client's row ($1 is its id) with its audit event; RECORD_NOT_FOUND if none. */
  private async changeClient(
    id: string,
    sql: string,
    params: unknown[],
    event: AuditRecord['event'],
    detail?: string,
  ): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const [, updated] = await manager.query<[unknown[], number]>(sql, [id, ...params]);
      if (updated === 0) throw notFound(id);
      await this.audited(manager, id, event, detail);
    });
  }

  private audited(
    manager: EntityManager,
    clientId: string,
    event: AuditRecord['event'],
    detail?: string,
  ): Promise<void> {
    return this.audit.record([{ event, actor: 'admin', clientId, detail }], manager);
  }

  private async insertKey(
    manager: EntityManager,
    clientId: string,
    input: PublicKeyInput,
  ): Promise<IssuedKey> {
    const kid = newKid();
    if (input.publicKeyPem !== undefined) {
      const { algorithm, pem } = readPublicKey(input.publicKeyPem, input.algorithm);
      await manager.query(
        `INSERT INTO partner_client_keys (client_id, kid, algorithm, public_key_pem) VALUES ($1, $2, $3, $4)`,
        [clientId, kid, algorithm, pem],
      );
      return { kid, algorithm };
    }
    if (input.algorithm && input.algorithm !== 'HS256') {
      throw new AppError(ErrorCode.ValidationFailed, {
        details: [
          { field: 'publicKey', message: `${input.algorithm} needs the partner's public key` },
        ],
      });
    }
    const secret = newHmacSecret();
    await manager.query(
      `INSERT INTO partner_client_keys (client_id, kid, algorithm, secret_sealed) VALUES ($1, $2, 'HS256', $3)`,
      [clientId, kid, this.keyBox.seal(secret, clientId, kid)],
    );
    return { kid, algorithm: 'HS256', secret };
  }
}

function toView(row: ClientRow): ClientView {
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
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    keys: row.keys.map((key) => ({
      kid: key.kid,
      algorithm: key.algorithm,
      status: key.status,
      createdAt: new Date(key.created_at).toISOString(),
      retiredAt: key.retired_at ? new Date(key.retired_at).toISOString() : null,
    })),
  };
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' && driverError.constraint === constraint;
}
