import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
} from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { SecretBox } from '@app/common';

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
export class SigningKeys {
  private ring?: Promise<KeyRing>;
  private readonly box: SecretBox;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.box = new SecretBox(config.otp.secret, 'token-signing-key-v1');
  }

  keys(): Promise<KeyRing> {
    this.ring ??= this.load().catch((error: unknown) => {
      this.ring = undefined;
      throw error;
    });
    return this.ring;
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
