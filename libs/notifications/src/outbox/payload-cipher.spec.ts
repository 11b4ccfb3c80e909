import { PayloadCipher } from './payload-cipher';

describe('PayloadCipher', () => {
  const cipher = new PayloadCipher('a-test-secret');
  const payload = { body: '123456 is your code', code: '123456', authCode: '48213377' };

  it('round-trips a payload', () => {
    expect(cipher.decrypt(cipher.encrypt(payload))).toEqual(payload);
  });

  it('never stores the code or body in the clear, and uses a fresh IV each time', () => {
    const a = cipher.encrypt(payload);
    const b = cipher.encrypt(payload);
    expect(a.toString('latin1')).not.toContain('123456');
    expect(a.equals(b)).toBe(false);
  });

  it('refuses a tampered payload or another key', () => {
    const sealed = cipher.encrypt(payload);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    expect(() => cipher.decrypt(tampered)).toThrow();
    expect(() => new PayloadCipher('another-secret').decrypt(sealed)).toThrow();
  });
});
