import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox('a-test-secret', 'purpose-a');

  it('round-trips, with a fresh IV each time', () => {
    const a = box.seal('the secret text', 'ctx');
    const b = box.seal('the secret text', 'ctx');
    expect(box.open(a, 'ctx').toString()).toBe('the secret text');
    expect(a.equals(b)).toBe(false);
    expect(a.toString('latin1')).not.toContain('secret text');
  });

  it('opens only with the same context, purpose and master secret', () => {
    const sealed = box.seal('value', 'client-1:kid-1');
    expect(() => box.open(sealed, 'client-2:kid-1')).toThrow();
    expect(() =>
      new SecretBox('a-test-secret', 'purpose-b').open(sealed, 'client-1:kid-1'),
    ).toThrow();
    expect(() => new SecretBox('another', 'purpose-a').open(sealed, 'client-1:kid-1')).toThrow();
  });

  it('refuses a tampered value or an unknown version', () => {
    const sealed = box.seal('value');
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    expect(() => box.open(tampered)).toThrow();
    const otherVersion = Buffer.from(sealed);
    otherVersion[0] = 2;
    expect(() => box.open(otherVersion)).toThrow('unknown sealed value version');
  });

  it('opens values sealed without additional data before contexts existed (empty context)', () => {
    // The outbox's payloads of earlier releases: same key derivation and layout, no AAD call.
    const key = Buffer.from(hkdfSync('sha256', 'a-test-secret', 'otp-link', 'purpose-a', 32));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const data = Buffer.concat([cipher.update('legacy'), cipher.final()]);
    const legacy = Buffer.concat([Buffer.from([1]), iv, cipher.getAuthTag(), data]);
    expect(box.open(legacy).toString()).toBe('legacy');
  });
});
