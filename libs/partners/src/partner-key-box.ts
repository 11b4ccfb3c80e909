import { SecretBox } from '@app/common';

/**
 * Partner HS256 secrets at rest: sealed with a key of their own derived from OTP_SECRET, and
 * bound to their client and kid, so a sealed secret copied to another row does not open.
 */
export class PartnerKeyBox {
  private readonly box: SecretBox;

  constructor(masterSecret: string) {
    this.box = new SecretBox(masterSecret, 'partner-jwt-key-v1');
  }

  seal(secret: string, clientId: string, kid: string): Buffer {
    return this.box.seal(secret, `${clientId}:${kid}`);
  }

  open(sealed: Buffer, clientId: string, kid: string): string {
    return this.box.open(sealed, `${clientId}:${kid}`).toString('utf8');
  }
}
