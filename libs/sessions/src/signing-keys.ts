import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
} from 'node:crypto';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError, ErrorCode, SecretBox } from '@app/common';
import { DatabaseNotifications } from '@app/database';

/** A public key as the JWKS publishes it. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  use: 'sig';
  alg: 'ES256';
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM, what jsonwebtoken's verify takes. */
  publicPem: string;
  jwk: PublicJwk;
}

/** The keys our tokens are signed and verified with: the first signs, all verify. */
export interface KeyRing {
  /** Undefined in production without TOKEN_SIGNING_KEYS: nothing is signed. */
  signing?: SigningKey;
  all: SigningKey[];
}

/** Signing asked of a production service without TOKEN_SIGNING_KEYS. */
export class NoSigningKey extends Error {
  constructor() {
    super('TOKEN_SIGNING_KEYS is not set: this service signs no tokens');
  }
}

/** Serialises the first start of several instances on an empty table. */
const GENERATE_LOCK = 'token_signing_keys:generate';
/** Announces a rotation or a retirement: every instance reloads its keys at once. */
export const SIGNING_KEYS_CHANNEL = 'token_signing_keys_changed';
/** Without news (a missed notification), an instance reloads its stored keys this often. */
export const SIGNING_KEYS_RELOAD_MS = 30_000;

/** A stored signing key as operators see it (never its private part). */
export interface SigningKeyView {
  kid: string;
  status: 'active' | 'retiring' | 'retired';
  createdAt: string;
  retiredAt: string | null;
}

/** The RFC 7638 thumbprint of a P-256 public key: its kid, the same wherever it is computed. */
function thumbprint(x: string, y: string): string {
  const canonical = JSON.stringify({ crv: 'P-256', kty: 'EC', x, y });
  return createHash('sha256').update(canonical).digest('base64url');
}

export function signingKey(privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  const { x, y } = publicKey.export({ format: 'jwk' });
  if (typeof x !== 'string' || typeof y !== 'string') throw new Error('not an EC key');
  const kid = thumbprint(x, y);
  return {
    kid,
    privateKey,
    publicKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    jwk: { kty: 'EC', crv: 'P-256', x, y, kid, use: 'sig', alg: 'ES256' },
  };
}

/**
 * Our token signing keys: TOKEN_SIGNING_KEYS when set (the first signs; the others are still
 * published and verify: rotation), else (development) a key generated once and kept sealed in
 * `token_signing_keys`, so restarts and other instances keep it; in production without
 * TOKEN_SIGNING_KEYS, none (the JWKS is empty and nothing is signed). Loaded on first use.
 */
@Injectable()
export class SigningKeys implements OnApplicationBootstrap {
  private ring?: Promise<KeyRing>;
  private loadedAt = 0;
  private readonly box: SecretBox;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly notifications: DatabaseNotifications,
  ) {
    this.box = new SecretBox(config.otp.secret, 'token-signing-key-v1');
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.notifications.subscribe(SIGNING_KEYS_CHANNEL, {
      onMessage: () => this.forget(),
      onReset: () => this.forget(),
    });
  }

  keys(): Promise<KeyRing> {
    // Stored keys change by rotation (announced); configured ones only with a restart.
    if (this.stored() && Date.now() - this.loadedAt > SIGNING_KEYS_RELOAD_MS) this.ring = undefined;
    if (!this.ring) {
      this.loadedAt = Date.now();
      this.ring = this.load().catch((error: unknown) => {
        this.ring = undefined;
        throw error;
      });
    }
    return this.ring;
  }

  /** Drops the loaded keys: the next use reads them again. */
  forget(): void {
    this.ring = undefined;
  }

  /** Whether the keys live in the database (no TOKEN_SIGNING_KEYS, not production). */
  private stored(): boolean {
    return this.config.tokens.signingKeys.length === 0 && !this.config.isProduction;
  }

  private refuseConfigured(): void {
    if (!this.stored()) {
      throw new AppError(
        ErrorCode.Conflict,
        {},
        'the signing keys come from TOKEN_SIGNING_KEYS: rotate by putting a new key first there (the old one after it), retire by removing it',
      );
    }
  }

  /** The stored keys, newest first; configured keys are listed as TOKEN_SIGNING_KEYS has them. */
  async list(): Promise<{ source: 'TOKEN_SIGNING_KEYS' | 'database'; keys: SigningKeyView[] }> {
    if (!this.stored()) {
      const { all } = await this.keys();
      return {
        source: 'TOKEN_SIGNING_KEYS',
        keys: all.map((key, i) => ({
          kid: key.kid,
          status: i === 0 ? 'active' : 'retiring',
          createdAt: '',
          retiredAt: null,
        })),
      };
    }
    await this.keys(); // the first key is generated on first use
    const rows = await this.dataSource.query<
      Array<{
        kid: string;
        status: SigningKeyView['status'];
        created_at: Date;
        retired_at: Date | null;
      }>
    >(
      `SELECT kid, status, created_at, retired_at FROM token_signing_keys
        ORDER BY created_at DESC, kid`,
    );
    return {
      source: 'database',
      keys: rows.map((row) => ({
        kid: row.kid,
        status: row.status,
        createdAt: row.created_at.toISOString(),
        retiredAt: row.retired_at ? row.retired_at.toISOString() : null,
      })),
    };
  }

  /**
   * Rotation, step one: a new key signs from now on; the one that signed is `retiring`, still
   * published and still verifying its tokens until retired. Every instance hears of it.
   */
  async rotate(): Promise<{ kid: string; retiring: string[] }> {
    this.refuseConfigured();
    await this.keys();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const key = signingKey(privateKey);
    const sealed = this.box.seal(privateKey.export({ format: 'der', type: 'pkcs8' }), key.kid);
    const retiring = await this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [GENERATE_LOCK]);
      // An UPDATE answers [rows, count].
      const [rows] = await manager.query<[Array<{ kid: string }>, number]>(
        `UPDATE token_signing_keys SET status = 'retiring' WHERE status = 'active' RETURNING kid`,
      );
      await manager.query(
        `INSERT INTO token_signing_keys (kid, private_key_sealed, status) VALUES ($1, $2, 'active')`,
        [key.kid, sealed],
      );
      await manager.query(`SELECT pg_notify($1, $2)`, [SIGNING_KEYS_CHANNEL, key.kid]);
      return rows.map((row) => row.kid);
    });
    this.forget();
    return { kid: key.kid, retiring };
  }

  /**
   * Rotation, step two: the key leaves the JWKS and its tokens are refused, on every instance.
   * The key that signs cannot be retired (rotate first).
   */
  async retire(kid: string): Promise<{ kid: string; status: 'retired' }> {
    this.refuseConfigured();
    await this.dataSource.transaction(async (manager) => {
      const [row] = await manager.query<Array<{ status: string }>>(
        `SELECT status FROM token_signing_keys WHERE kid = $1 FOR UPDATE`,
        [kid],
      );
      if (!row) {
        throw new AppError(ErrorCode.RecordNotFound, {}, `no signing key ${JSON.stringify(kid)}`);
      }
      if (row.status === 'active') {
        throw new AppError(
          ErrorCode.Conflict,
          {},
          'the key that signs cannot be retired: rotate first, then retire it',
        );
      }
      if (row.status === 'retired') return;
      await manager.query(
        `UPDATE token_signing_keys SET status = 'retired', retired_at = now() WHERE kid = $1`,
        [kid],
      );
      await manager.query(`SELECT pg_notify($1, $2)`, [SIGNING_KEYS_CHANNEL, kid]);
    });
    this.forget();
    return { kid, status: 'retired' };
  }

  /** The key that signs now; throws NoSigningKey when there is none. */
  async signing(): Promise<SigningKey> {
    const { signing } = await this.keys();
    if (!signing) throw new NoSigningKey();
    return signing;
  }

  /** The published keys: `GET /.well-known/jwks.json`. */
  async jwks(): Promise<{ keys: PublicJwk[] }> {
    return { keys: (await this.keys()).all.map((key) => key.jwk) };
  }

  private async load(): Promise<KeyRing> {
    const configured = this.config.tokens.signingKeys.map((pem) =>
      signingKey(createPrivateKey(pem)),
    );
    if (configured.length > 0) return { signing: configured[0], all: configured };
    // A generated key is for development: production names its keys, or signs nothing.
    if (this.config.isProduction) return { all: [] };
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [GENERATE_LOCK]);
      let rows = await manager.query<Array<{ kid: string; sealed: Buffer; status: string }>>(
        `SELECT kid, private_key_sealed AS sealed, status FROM token_signing_keys
          WHERE status <> 'retired' ORDER BY status = 'active' DESC, created_at DESC, kid`,
      );
      if (!rows.some((row) => row.status === 'active')) {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
        const key = signingKey(privateKey);
        const sealed = this.box.seal(privateKey.export({ format: 'der', type: 'pkcs8' }), key.kid);
        await manager.query(
          `INSERT INTO token_signing_keys (kid, private_key_sealed, status) VALUES ($1, $2, 'active')`,
          [key.kid, sealed],
        );
        rows = [{ kid: key.kid, sealed, status: 'active' }, ...rows];
      }
      const all = rows.map((row) => {
        const der = this.box.open(Buffer.from(row.sealed), row.kid);
        const key = signingKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
        if (key.kid !== row.kid) throw new Error(`token signing key ${row.kid} does not match`);
        return key;
      });
      return { signing: all[0], all };
    });
  }
}
