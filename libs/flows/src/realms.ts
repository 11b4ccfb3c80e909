import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { PartnerDirectory, RegisteredClient } from '@app/partners';

/** The service's own realm. */
export const DEFAULT_REALM = 'default';
/**
 * The owner client of the default realm's codes: `___` is never in a partner client's id, so
 * its limits and budget are its own.
 */
const DEFAULT_OWNER = '___default';

/** Where a flow runs: the service's own realm, or a partner client's. */
export interface Realm {
  id: string;
  /** The partner client; undefined for `default`. */
  client?: RegisteredClient;
  /** The owner client of its codes (limits, budget, audit). */
  ownerClientId: string;
  /** Country calling codes its users may sign in with; undefined: every country. */
  allowedCountryCodes?: string[];
  /** Browser origins whose pages may POST with the session cookie. */
  allowedOrigins: ReadonlySet<string>;
}

/**
 * Resolves the realm of a path: `default`, or an active partner client (a suspended or unknown
 * client is no realm). A client's countries narrow the service's ALLOWED_COUNTRY_CODES.
 *
 * Origins: the service's own (PUBLIC_URL) and CORS_ORIGINS, for every realm. Partner clients
 * have no list of browser origins in the registry yet; when they do, a partner realm takes its
 * client's list here instead.
 */
@Injectable()
export class Realms {
  private readonly serviceCountryCodes?: string[];
  private readonly serviceOrigins: ReadonlySet<string>;

  constructor(
    private readonly partners: PartnerDirectory,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    if (config.allowedCountryCodes.length > 0)
      this.serviceCountryCodes = config.allowedCountryCodes;
    const origins = [...config.http.corsOrigins];
    if (config.publicUrl) origins.push(new URL(config.publicUrl).origin);
    this.serviceOrigins = new Set(origins.map(normalizeOrigin));
  }

  async find(realm: string): Promise<Realm | undefined> {
    if (realm === DEFAULT_REALM) {
      return {
        id: realm,
        ownerClientId: DEFAULT_OWNER,
        allowedCountryCodes: this.serviceCountryCodes,
        allowedOrigins: this.serviceOrigins,
      };
    }
    const client = await this.partners.find(realm);
    if (!client || client.status !== 'active') return undefined;
    const own = client.allowedCountryCodes;
    const global = this.serviceCountryCodes;
    return {
      id: realm,
      client,
      ownerClientId: client.id,
      allowedCountryCodes:
        own && global ? own.filter((code) => global.includes(code)) : (own ?? global),
      allowedOrigins: this.serviceOrigins,
    };
  }
}

/** `HTTPS://Example.com:443/` and `https://example.com` are one origin. */
export function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin.trim().toLowerCase();
  }
}
