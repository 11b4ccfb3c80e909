import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import helmet, { type HelmetOptions } from 'helmet';
import {
  API_SECURITY_HEADERS,
  applyHeaderChanges,
  securityHeaderChanges,
} from './security-headers';

const OPTIONS: HelmetOptions = API_SECURITY_HEADERS;

function response(): ServerResponse {
  return new ServerResponse(new IncomingMessage(new Socket()));
}

describe('securityHeaderChanges', () => {
  it('gives a response the very headers helmet itself sets on it', () => {
    const byHelmet = response();
    byHelmet.setHeader('X-Powered-By', 'something');
    helmet(OPTIONS)(byHelmet.req, byHelmet, () => undefined);

    const byList = response();
    byList.setHeader('X-Powered-By', 'something');
    applyHeaderChanges(byList, securityHeaderChanges(OPTIONS));

    expect(byList.getHeaders()).toEqual(byHelmet.getHeaders());
    expect(byList.getHeader('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(byList.hasHeader('x-powered-by')).toBe(false);
  });

  it('follows the options it is given', () => {
    const changes = securityHeaderChanges({
      contentSecurityPolicy: OPTIONS.contentSecurityPolicy,
      strictTransportSecurity: false,
    });
    expect(changes.map(([name]) => name.toLowerCase())).not.toContain('strict-transport-security');
    expect(securityHeaderChanges(OPTIONS).map(([name]) => name.toLowerCase())).toContain(
      'strict-transport-security',
    );
  });

  it('refuses a policy with a function, whose value changes per response', () => {
    const nonce = () => "'nonce-abc'";
    expect(() =>
      securityHeaderChanges({ contentSecurityPolicy: { directives: { scriptSrc: [nonce] } } }),
    ).toThrow(/functions/);
  });
});
