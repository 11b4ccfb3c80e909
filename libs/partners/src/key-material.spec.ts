import { generateKeyPairSync } from 'node:crypto';
import { AppError } from '@app/common';
import {
  apiSecretMatches,
  hashApiSecret,
  newApiSecret,
  newHmacSecret,
  newKid,
  readPublicKey,
} from './key-material';

const pem = (key: import('node:crypto').KeyObject, type: 'spki' | 'pkcs1' = 'spki') =>
  key.export({ type, format: 'pem' } as never).toString();

describe('key material', () => {
  it('makes 256-bit secrets and distinct kids', () => {
    expect(Buffer.from(newHmacSecret(), 'base64url')).toHaveLength(32);
    expect(newApiSecret()).toMatch(/^ols_[\w-]{43}$/);
    const kids = new Set(Array.from({ length: 100 }, newKid));
    expect(kids.size).toBe(100);
  });

  it('matches an API secret only against its own hash', () => {
    const secret = newApiSecret();
    const hash = hashApiSecret(secret);
    expect(apiSecretMatches(secret, hash)).toBe(true);
    expect(apiSecretMatches(`${secret}x`, hash)).toBe(false);
    expect(apiSecretMatches(secret, Buffer.alloc(32))).toBe(false);
    expect(apiSecretMatches(secret, Buffer.alloc(3))).toBe(false);
    expect(hash.toString('latin1')).not.toContain(secret);
  });

  it('reads RSA (2048+) as RS256 and EC P-256 as ES256, in SPKI or PKCS#1', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(readPublicKey(pem(rsa)).algorithm).toBe('RS256');
    expect(readPublicKey(pem(rsa, 'pkcs1')).algorithm).toBe('RS256');
    expect(readPublicKey(pem(ec)).algorithm).toBe('ES256');
    // Stored as SPKI whatever it came as.
    expect(readPublicKey(pem(rsa, 'pkcs1')).pem).toBe(pem(rsa));
    expect(readPublicKey(pem(ec), 'ES256').algorithm).toBe('ES256');
  });

  it.each([
    [
      'a private key',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      'private key',
    ],
    [
      'RSA of 1024 bits',
      () => pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey),
      'at least 2048',
    ],
    [
      'EC P-384',
      () => pem(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey),
      'P-256',
    ],
    ['Ed25519', () => pem(generateKeyPairSync('ed25519').publicKey), 'RSA (RS256) or EC P-256'],
    ['not PEM', () => 'hello', 'readable PEM'],
    ['too long', () => 'x'.repeat(20_000), 'too large'],
  ])('refuses %s', (_name, make, message) => {
    let caught: unknown;
    try {
      readPublicKey(make());
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).extra.details).toEqual([
      { field: 'publicKey', message: expect.stringContaining(message) },
    ]);
  });

  it('refuses a key of another algorithm than the one expected', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(() => readPublicKey(pem(ec), 'RS256')).toThrow('public key is for ES256, not RS256');
  });
});
