import {
  isOpaqueToken,
  newOpaqueToken,
  openSuccessor,
  sealSuccessor,
  tokenHash,
} from './session-secrets';

describe('session secrets', () => {
  it('makes 256-bit opaque tokens, each different, and recognises their shape', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => newOpaqueToken()));
    expect(tokens.size).toBe(100);
    for (const token of tokens) {
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      expect(isOpaqueToken(token)).toBe(true);
    }
    for (const bad of ['', 'x', `${newOpaqueToken()}=`, 'a'.repeat(44), 42, null, undefined]) {
      expect(isOpaqueToken(bad)).toBe(false);
    }
    expect(isOpaqueToken(`${'a'.repeat(42)}+`)).toBe(false);
  });

  it('hashes a token the same way each time, and two tokens differently', () => {
    const token = newOpaqueToken();
    expect(tokenHash(token).equals(tokenHash(token))).toBe(true);
    expect(tokenHash(token)).toHaveLength(32);
    expect(tokenHash(token).equals(tokenHash(newOpaqueToken()))).toBe(false);
  });

  it('opens a successor only with the token it was sealed under', () => {
    const used = newOpaqueToken();
    const sealed = sealSuccessor(used, '{"refreshToken":"next"}');
    expect(sealed.toString('utf8')).not.toContain('next');
    expect(openSuccessor(used, sealed)).toBe('{"refreshToken":"next"}');
    expect(() => openSuccessor(newOpaqueToken(), sealed)).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    expect(() => openSuccessor(used, tampered)).toThrow();
  });
});
