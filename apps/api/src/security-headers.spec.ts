import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import helmet, { type HelmetOptions } from 'helmet';
import { applyHeaderChanges, securityHeaderChanges } from './security-headers';

const CSP = { directives: { defaultSrc: ["'self'"], frameAncestors: ["'none'"] } };
const OPTIONS: HelmetOptions = { contentSecurityPolicy: CSP };

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
      contentSecurityPolicy: CSP,
      strictTransportSecurity: false,
    });
    expect(changes.map(([name]) => name.toLowerCase())).not.toContain('strict-transport-security');
    expect(securityHeaderChanges(OPTIONS).map(([name]) => name.toLowerCase())).toContain(
      'strict-transport-security',
    );
  });
});
