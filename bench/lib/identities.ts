import { createSecretKey, randomBytes, randomInt, randomUUID, type KeyObject } from 'node:crypto';
import { sign } from 'jsonwebtoken';
// The claim builder alone, not the auth module's index: the load driver needs none of the app.
import { partnerTokenClaims } from '@app/partners';

/** A partner user with its token and a phone nobody else in the run uses. */
export interface BenchUser {
  clientId: string;
  userId: string;
  walletAddress: string;
  token: string;
  /** National number, as the frontend sends it. */
  national: string;
  e164: string;
}

const PHONE_SPACE = 1_000_000_000;
// Odd and not a multiple of 5, so k -> k * STEP mod 10^9 is a bijection: distinct numbers that
// still spread over all number blocks (the per-prefix limit is raised anyway).
const PHONE_STEP = 387_420_489;
/** Tokens outlive the longest run by far. */
const TOKEN_LIFETIME_SECONDS = 6 * 3600;

/**
 * Users and phones for the whole run: every user id and phone is distinct, so no request trips
 * over another's link or challenge. Users are spread over a few partner clients, as in production.
 */
export class IdentityFactory {
  private readonly key: KeyObject;
  private readonly clients = Array.from({ length: 4 }, () => randomUUID());
  private readonly phoneOffset = randomInt(PHONE_SPACE);
  private readonly runTag = randomBytes(3).toString('hex');
  private phones = 0;
  private users = 0;

  constructor(partnerJwtSecret: string) {
    this.key = createSecretKey(Buffer.from(partnerJwtSecret, 'utf8'));
  }

  /** '9' and nine digits: a valid Indian mobile for libphonenumber. */
  nextPhone(): { national: string; e164: string } {
    const k = this.phones++;
    const digits = (k * PHONE_STEP + this.phoneOffset) % PHONE_SPACE;
    const national = `9${String(digits).padStart(9, '0')}`;
    return { national, e164: `+91${national}` };
  }

  /** `count` users, tokens signed up front so the load driver only copies strings. */
  makeUsers(count: number, label: string): BenchUser[] {
    const now = Math.floor(Date.now() / 1000);
    const users: BenchUser[] = [];
    for (let i = 0; i < count; i++) {
      const n = this.users++;
      const clientId = this.clients[n % this.clients.length];
      const userId = `bench-${this.runTag}-${label}-${n}`;
      const walletAddress = `0x${randomBytes(20).toString('hex')}`;
      // The claims of a real partner token (API.md §2).
      const token = sign(
        {
          ...partnerTokenClaims({ clientId, userId, clientName: 'Ludo', walletAddress }),
          is_new_user: true,
          iat: now,
          exp: now + TOKEN_LIFETIME_SECONDS,
        },
        this.key,
        { algorithm: 'HS256' },
      );
      users.push({ clientId, userId, walletAddress, token, ...this.nextPhone() });
    }
    return users;
  }
}

/** A random code of `length` digits (leading zeros allowed, as the server's generator does). */
export function randomCode(length: number): string {
  return String(randomInt(10 ** length)).padStart(length, '0');
}

/** A code of the same length that is certainly not `code`. */
export function wrongCodeFor(code: string): string {
  const length = code.length;
  return String((Number(code) + 1) % 10 ** length).padStart(length, '0');
}

/** An authCode as the server makes them: 8 digits, no leading zero. */
export function randomAuthCode(): string {
  return String(randomInt(10_000_000, 100_000_000));
}
