import { createSecretKey, type KeyObject } from 'crypto';
import { JsonWebTokenError, NotBeforeError, TokenExpiredError, verify } from 'jsonwebtoken';
import { AppError, Clock, ErrorCode } from '@app/common';
import type { ThirdPartyUser } from './third-party-user';

/** Tokens longer than this are refused before any decoding (real partner tokens are < 1 KiB). */
export const MAX_PARTNER_TOKEN_LENGTH = 8 * 1024;
/** Leeway, in seconds, on `exp`, `nbf` and a future `iat` (spec §2). */
export const PARTNER_TOKEN_LEEWAY_SECONDS = 30;
/** The database columns' sizes: a longer claim could not be stored, so it is refused here. */
const MAX_CLAIM_LENGTH = 256;
const MAX_CLIENT_ID_LENGTH = 128;
const NAMESPACE_SEPARATOR = '___';

// Compact JWS: three base64url segments; the signature may be empty (an `alg: none` token).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// Control characters (NUL above all: PostgreSQL text refuses it) have no place in ids or names.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function unauthorized(reason: string): AppError {
  // Reasons are fixed texts or claim names: never the token or a claim's value.
  return new AppError(ErrorCode.Unauthorized, {}, reason);
}

type Claims = Record<string, unknown>;

/**
 * Verifies partner JWTs (`user-jwt-token`, spec §2): HS256 only, `exp` required, 30 s leeway,
 * and turns the claims into a {@link ThirdPartyUser}. Every failure is a 401 AppError whose
 * message says what was wrong without echoing the token.
 */
export class PartnerJwtVerifier {
  // A KeyObject made once: with a string secret jsonwebtoken rebuilds the key on every call
  // (measured 1.5k/s against 61k/s).
  private readonly key: KeyObject;

  constructor(
    secret: string,
    private readonly clock: Clock,
  ) {
    if (secret.length === 0) throw new Error('PartnerJwtVerifier needs a non-empty secret');
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  verify(token: string | undefined): ThirdPartyUser {
    if (typeof token !== 'string' || token.length === 0) throw unauthorized('token missing');
    if (token.length > MAX_PARTNER_TOKEN_LENGTH) throw unauthorized('token too large');
    if (!COMPACT_JWS.test(token)) throw unauthorized('token malformed');
    checkHeader(token);

    const now = Math.floor(this.clock.now().getTime() / 1000);
    const claims = this.verifySignatureAndTimes(token, now);

    if (claims.exp === undefined) throw unauthorized('token has no expiry');
    // JSON allows 1e999 (Infinity), which jsonwebtoken would take as "never expires".
    if (!Number.isFinite(claims.exp)) throw unauthorized('token claims invalid: exp');
    if (claims.iat !== undefined) {
      if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) {
        throw unauthorized('token claims invalid: iat');
      }
      if (claims.iat > now + PARTNER_TOKEN_LEEWAY_SECONDS) {
        throw unauthorized('token issued in the future');
      }
    }
    return toThirdPartyUser(claims);
  }

  private verifySignatureAndTimes(token: string, now: number): Claims {
    let payload: unknown;
    try {
      payload = verify(token, this.key, {
        algorithms: ['HS256'],
        clockTimestamp: now,
        clockTolerance: PARTNER_TOKEN_LEEWAY_SECONDS,
      });
    } catch (error) {
      throw unauthorized(reasonFor(error));
    }
    // jsonwebtoken hands back a string when the payload is not a JSON object.
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw unauthorized('token malformed');
    }
    return payload as Claims;
  }
}

/** Refuses anything but HS256 before verifying, so the answer does not depend on which check jsonwebtoken runs first. */
function checkHeader(token: string): void {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString());
  } catch {
    throw unauthorized('token malformed');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw unauthorized('token malformed');
  }
  if ((header as Claims).alg !== 'HS256') throw unauthorized('unsupported token algorithm');
}

function reasonFor(error: unknown): string {
  // Subclasses of JsonWebTokenError first.
  if (error instanceof TokenExpiredError) return 'token expired';
  if (error instanceof NotBeforeError) return 'token not yet valid';
  if (error instanceof JsonWebTokenError) {
    switch (error.message) {
      case 'invalid signature':
      case 'jwt signature is required':
        return 'invalid token signature';
      case 'invalid algorithm':
        return 'unsupported token algorithm';
      case 'invalid exp value':
        return 'token claims invalid: exp';
      case 'invalid nbf value':
        return 'token claims invalid: nbf';
    }
  }
  // 'jwt malformed', 'invalid token', a SyntaxError from a non-JSON payload, ...
  return 'token malformed';
}

function isAbsent(value: unknown): boolean {
  // A JSON null counts as absent: some partners emit `"claim": null` for "not set".
  return value === undefined || value === null;
}

/**
 * A present claim must be a non-empty, well-formed string (no lone UTF-16 surrogate, which
 * PostgreSQL cannot store and would merge distinct ids) of at most `maxLength` characters
 * without control characters.
 */
function stringClaim(
  claims: Claims,
  name: string,
  maxLength = MAX_CLAIM_LENGTH,
): string | undefined {
  const value = claims[name];
  if (isAbsent(value)) return undefined;
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > maxLength ||
    !value.isWellFormed() ||
    CONTROL_CHARS.test(value)
  ) {
    throw unauthorized(`token claims invalid: ${name}`);
  }
  return value;
}

/** The preferred claim when present, else the fallback; returns the value and the claim used. */
function requiredClaim(
  claims: Claims,
  preferred: string,
  fallback: string,
  maxLength = MAX_CLAIM_LENGTH,
): { name: string; value: string } {
  const name = isAbsent(claims[preferred]) ? fallback : preferred;
  const value = stringClaim(claims, name, maxLength);
  if (value === undefined) throw unauthorized(`token claims invalid: ${preferred} or ${fallback}`);
  return { name, value };
}

function optionalClaim(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  // An empty wallet address or client name means "none", not a broken token.
  if (value === '') return undefined;
  return stringClaim(claims, name);
}

function toThirdPartyUser(claims: Claims): ThirdPartyUser {
  const client = requiredClaim(claims, 'third_party_client_id', 'client_id', MAX_CLIENT_ID_LENGTH);
  // The namespaced id splits at the first `___`; a client id containing it would be ambiguous
  // (client `a___b` + user `c` and client `a` + user `b___c` would collide).
  if (client.value.includes(NAMESPACE_SEPARATOR)) {
    throw unauthorized(`token claims invalid: ${client.name}`);
  }
  const clientId = client.value;
  const userId = requiredClaim(claims, 'user_id', 'sub').value;
  const namespacedId = `${clientId}${NAMESPACE_SEPARATOR}${userId}`;

  const namespaced = claims.namespaced_third_party_user_id;
  if (!isAbsent(namespaced)) {
    if (typeof namespaced !== 'string') {
      throw unauthorized('token claims invalid: namespaced_third_party_user_id');
    }
    // Both forms are in use by partners (spec §2).
    if (namespaced !== namespacedId && namespaced !== `${clientId}#${userId}`) {
      throw unauthorized('namespaced user id does not match');
    }
  }

  const user: ThirdPartyUser = { clientId, userId, namespacedId };
  const walletAddress = optionalClaim(claims, 'wallet_address');
  if (walletAddress !== undefined) user.walletAddress = walletAddress;
  const clientName = optionalClaim(claims, 'third_party_client_name');
  if (clientName !== undefined) user.clientName = clientName;
  return user;
}

/**
 * The partner token of a request: header `user-jwt-token`, else `Authorization: Bearer <jwt>`
 * (scheme case-insensitive). Header names are expected lower-case, as Node delivers them.
 * Returns undefined when neither carries a token (another Authorization scheme included), so
 * the verifier answers 'token missing'.
 *
 * A header given as an array (duplicate headers from an adapter that keeps them apart) throws
 * 'token malformed': with two tokens we cannot tell which one the caller meant, and "missing"
 * would mislead. (Node itself joins duplicate custom headers with ", ", which the verifier also
 * refuses as malformed.)
 */
export function extractPartnerToken(
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  const direct = singleHeader(headers['user-jwt-token']);
  if (direct !== undefined) return direct;

  const authorization = singleHeader(headers['authorization']);
  if (authorization === undefined) return undefined;
  const scheme = /^bearer[ \t]+/i.exec(authorization);
  if (!scheme) return undefined;
  const token = authorization.slice(scheme[0].length).trim();
  return token.length > 0 ? token : undefined;
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) throw unauthorized('token malformed');
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
