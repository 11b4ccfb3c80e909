import { CodeHasher } from './code-hasher';
import { AUTH_CODE_LENGTH, RandomCodeGenerator } from './code-generator';

describe('CodeHasher', () => {
  const hasher = new CodeHasher('secret-a');

  it('matches the right code for the right challenge only', () => {
    const stored = hasher.hash('challenge-1', '012345');
    expect(hasher.matches(stored, 'challenge-1', '012345')).toBe(true);
    expect(hasher.matches(stored, 'challenge-1', '012346')).toBe(false);
    expect(hasher.matches(stored, 'challenge-2', '012345')).toBe(false);
    expect(hasher.matches(stored, 'challenge-1', '12345')).toBe(false);
  });

  it('depends on the secret', () => {
    const stored = hasher.hash('c', '111111');
    expect(new CodeHasher('secret-b').matches(stored, 'c', '111111')).toBe(false);
  });

  it('rejects a stored value of the wrong length instead of throwing', () => {
    expect(hasher.matches(Buffer.alloc(3), 'c', '111111')).toBe(false);
  });
});

describe('RandomCodeGenerator', () => {
  const generator = new RandomCodeGenerator();

  it('makes codes of exactly the asked length, leading zeros kept', () => {
    for (const length of [4, 6, 10]) {
      for (let i = 0; i < 200; i++)
        expect(generator.code(length)).toMatch(new RegExp(`^\\d{${length}}$`));
    }
  });

  it('makes authCodes without a leading zero', () => {
    for (let i = 0; i < 500; i++) {
      expect(generator.authCode()).toMatch(new RegExp(`^[1-9]\\d{${AUTH_CODE_LENGTH - 1}}$`));
    }
  });

  it('spreads codes across the space (no constant output)', () => {
    const seen = new Set(Array.from({ length: 100 }, () => generator.code(6)));
    expect(seen.size).toBeGreaterThan(90);
  });
});
