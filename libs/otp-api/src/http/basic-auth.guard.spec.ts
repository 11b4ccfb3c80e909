import { basicCredentials } from './basic-auth.guard';

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('basicCredentials', () => {
  it('reads the client id and the secret (the secret may hold colons)', () => {
    expect(basicCredentials(`Basic ${encode('ludo:ols_abc')}`)).toEqual({
      id: 'ludo',
      secret: 'ols_abc',
    });
    expect(basicCredentials(`basic ${encode('ludo:a:b')}`)).toEqual({ id: 'ludo', secret: 'a:b' });
  });

  it.each([
    undefined,
    '',
    'Bearer abc',
    'Basic',
    'Basic !!!',
    `Basic ${encode('no-colon')}`,
    `Basic ${encode(':secret')}`,
    `Basic ${encode('id:')}`,
    `Basic ${'A'.repeat(2000)}`,
    ['Basic x'],
  ])('refuses %p', (header) => {
    expect(basicCredentials(header)).toBeUndefined();
  });
});
