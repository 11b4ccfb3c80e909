import { createSecretKey, type KeyObject } from 'crypto';
import {
  type Algorithm,
  JsonWebTokenError,
  NotBeforeError,
  TokenExpiredError,
  verify,
} from 'jsonwebtoken';
import { AppError, Clock, ErrorCode, isPrintableText } from '@app/common';
import { clientIdProblem, type RegisteredClient } from '@app/partners';
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

function unauthorized(reason: string): AppError {
  // Reasons are fixed texts or claim names: never the token or a claim's value.
  return new AppError(ErrorCode.Unauthorized, {}, reason);
}

type Claims = Record<string, unknown>;

/** What a token's header says, read before its signature is checked. */
interface TokenHeader {
  alg: Algorithm;
  kid?: string;
}

/** Algorithms a partner token may use; which one depends on the key that verifies it. */
const ALGORITHMS: readonly Algorithm[] = ['HS256', 'RS256', 'ES256'];

/** A verified token: its user, and when (epoch seconds) the time checks pass for it. */
export interface VerifiedToken {
  user: ThirdPartyUser;
  /** The first second at which `nbf` and `iat` pass, leeway included. */
  validFrom: number;
  /** The first second at which `exp` fails, leeway included. */
  validUntil: number;
}

/**
 * Verifies partner JWTs (`user-jwt-token`, spec §2) and turns the claims into a
 * {@link ThirdPartyUser}. A token of a registered client is verified with that client's keys
 * only (HS256, RS256 or ES256, chosen by `kid` when the header names one); any other token with
 * the fallback secret (PARTNER_JWT_SECRET, HS256 only), unless the fallback is off. `exp` is
 * required, with 30 s leeway. Every failure is a 401 AppError whose message says what was wrong
 * without echoing the token.
 */
export class PartnerJwtVerifier {
  // A KeyObject made once: with a string secret jsonwebtoken rebuilds the key on every call
  // (measured 1.5k/s against 61k/s).
  private readonly fallbackKey?: KeyObject;

  /** `fallbackSecret` undefined: tokens of unregistered clients are refused. */
  constructor(
    fallbackSecret: string | undefined,
    private readonly clock: Clock,
  ) {
    if (fallbackSecret !== undefined) {
      if (fallbackSecret.length === 0) {
        throw new Error('PartnerJwtVerifier needs a non-empty secret');
      }
      this.fallbackKey = createSecretKey(Buffer.from(fallbackSecret, 'utf8'));
    }
  }

  /**
   * Verifies `token`. `client` is the registry's entry for the client the token names
   * ({@link unverifiedClientId}), or undefined when that client is not registered.
   */
  verify(token: string | undefined, client?: RegisteredClient): ThirdPartyUser {
    return this.verifyToken(token, client).user;
  }

  /** {@link verify}, with the span of time in which the token stays valid. */
  verifyToken(token: string | undefined, client?: RegisteredClient): VerifiedToken {
    const keys = this.keysForToken(token, client);
    return this.verifiedClaims(verifySignature(token as string, keys).payload, client);
  }

  /**
   * The checks made before any signature is: the token's size and shape, its header (`alg`
   * among the partner algorithms, `kid`), a client claim, then the keys that may have signed it,
   * each pinned to its own algorithm (the registered client's, chosen by `kid` when the header
   * names one; else the fallback secret, HS256 only). Throws the fixed 401 reasons.
   */
  keysForToken(token: string | undefined, client?: RegisteredClient): KeyObject[] {
    if (typeof token !== 'string' || token.length === 0) throw unauthorized('token missing');
    if (token.length > MAX_PARTNER_TOKEN_LENGTH) throw unauthorized('token too large');
    if (!COMPACT_JWS.test(token)) throw unauthorized('token malformed');
    const header = readHeader(token);
    // A token that names no client cannot be a registered client's: say so before trying the
    // fallback secret, whose "invalid token signature" would send its signer looking at the key.
    if (!client && namesNoClient(token)) throw unauthorized(MISSING_CLIENT);
    return this.keysFor(header, client);
  }

  /**
   * The checks made once the signature holds: the time claims against the service clock (the
   * signature check ignores them: jsonwebtoken would read the system clock), `exp` required,
   * then the claims turned into the user.
   */
  verifiedClaims(payload: unknown, client?: RegisteredClient): VerifiedToken {
    // jsonwebtoken hands back a string when the payload is not a JSON object.
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw unauthorized('token malformed');
    }
    const claims = payload as Claims;
    const now = Math.floor(this.clock.now().getTime() / 1000);
    checkTimes(claims, now);

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
    const user = toThirdPartyUser(claims);
    // The caller looked the client up by the same claims; a mismatch is a bug, not a bad token.
    if (client && client.id !== user.clientId) throw new Error('verified with another client');
    return { user, ...validity(claims) };
  }

  /** The keys that may have signed a token with this header. */
  private keysFor(header: TokenHeader, client: RegisteredClient | undefined): KeyObject[] {
    if (!client) {
      if (!this.fallbackKey) throw unauthorized('token client is not registered');
      if (header.alg !== 'HS256') throw unauthorized('unsupported token algorithm');
      return [this.fallbackKey];
    }
    if (client.status !== 'active') throw unauthorized('token client is suspended');
    if (header.kid !== undefined) {
      const named = client.keys.find((key) => key.kid === header.kid);
      if (!named) {
        throw unauthorized(
          client.retiredKids.has(header.kid) ? 'token key is retired' : 'token key is unknown',
        );
      }
      if (named.algorithm !== header.alg) throw unauthorized('unsupported token algorithm');
      return [named.key];
    }
    const candidates = client.keys.filter((key) => key.algorithm === header.alg);
    if (candidates.length === 0) throw unauthorized('unsupported token algorithm');
    return candidates.map((key) => key.key);
  }
}

/**
 * The client a token names (`third_party_client_id`, else `client_id`), read without verifying
 * anything: only to find the keys to verify it with. Undefined when it names none readable; the
 * verification then reports what is wrong.
 */
export function unverifiedClientId(token: string | undefined): string | undefined {
  if (!token || token.length > MAX_PARTNER_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
    return undefined;
  }
  const payload = token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'));
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  } catch {
    return undefined;
  }
  if (typeof claims !== 'object' || claims === null) return undefined;
  const { third_party_client_id: preferred, client_id: fallback } = claims as Claims;
  const id = isAbsent(preferred) ? fallback : preferred;
  // An id the registry could not hold is not registered: no lookup (nor a NUL for PostgreSQL).
  return typeof id === 'string' && clientIdProblem(id) === undefined ? id : undefined;
}

const MISSING_CLIENT = 'token claims missing: third_party_client_id or client_id';

/** True when the (unverified) payload has neither client claim; false when unreadable. */
function namesNoClient(token: string): boolean {
  const payload = token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'));
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  } catch {
    return false;
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return false;
  const { third_party_client_id: preferred, client_id: fallback } = claims as Claims;
  return isAbsent(preferred) && isAbsent(fallback);
}

/** The options of every partner signature check: times are checked on the service clock. */
export const PARTNER_SIGNATURE_OPTIONS: {
  algorithms: Algorithm[];
  ignoreExpiration: true;
  ignoreNotBefore: true;
} = { algorithms: [...ALGORITHMS], ignoreExpiration: true, ignoreNotBefore: true };

/**
 * Tries each key: a signature that fails moves to the next; anything else (a malformed token)
 * is the token's own problem and answers at once. Returns the key that verified it.
 */
export function verifySignature(
  token: string,
  keys: KeyObject[],
): { key: KeyObject; payload: unknown } {
  for (const [index, key] of keys.entries()) {
    try {
      return { key, payload: verify(token, key, { ...PARTNER_SIGNATURE_OPTIONS }) };
    } catch (error) {
      const reason = partnerTokenReason(error);
      if (reason !== 'invalid token signature' || index === keys.length - 1) {
        throw unauthorized(reason);
      }
    }
  }
  throw unauthorized('invalid token signature');
}

/** jsonwebtoken's time checks, in its order, with its leeway, at `now` (the service clock). */
function checkTimes(claims: Claims, now: number): void {
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== 'number') throw unauthorized('token claims invalid: nbf');
    if (claims.nbf > now + PARTNER_TOKEN_LEEWAY_SECONDS) throw unauthorized('token not yet valid');
  }
  if (claims.exp !== undefined) {
    if (typeof claims.exp !== 'number') throw unauthorized('token claims invalid: exp');
    if (now >= claims.exp + PARTNER_TOKEN_LEEWAY_SECONDS) throw unauthorized('token expired');
  }
}

/** Reads the header; refuses anything but the partner algorithms before verifying, so the answer does not depend on which check jsonwebtoken runs first. */
function readHeader(token: string): TokenHeader {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString());
  } catch {
    throw unauthorized('token malformed');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw unauthorized('token malformed');
  }
  const { alg, kid } = header as Claims;
  if (typeof alg !== 'string' || !(ALGORITHMS as readonly string[]).includes(alg)) {
    throw unauthorized('unsupported token algorithm');
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 64)) {
    throw unauthorized('token malformed');
  }
  return { alg: alg as Algorithm, kid };
}

/**
 * The seconds in which the time checks that this token passed still pass: jsonwebtoken's
 * (`now < exp + leeway`, `now >= nbf - leeway`) and the future `iat` one.
 */
function validity(claims: Claims): { validFrom: number; validUntil: number } {
  const starts = [claims.nbf, claims.iat].filter((value) => typeof value === 'number');
  return {
    validFrom: Math.max(-Infinity, ...starts) - PARTNER_TOKEN_LEEWAY_SECONDS,
    validUntil: (claims.exp as number) + PARTNER_TOKEN_LEEWAY_SECONDS,
  };
}

/** The fixed 401 reason for an error of jsonwebtoken. */
export function partnerTokenReason(error: unknown): string {
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
    !isPrintableText(value)
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
  if (value === undefined) throw unauthorized(`token claims missing: ${preferred} or ${fallback}`);
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
