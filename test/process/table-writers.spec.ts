import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * Each table has one writing lib (DESIGN.md, docs/architecture.md): the others read it through
 * that lib, or compose its primitives in a transaction of their own.
 */
const WRITERS: Readonly<Record<string, string>> = {
  phone_users: 'users',
  third_party_users: 'users',
  links: 'users',
  link_probes: 'users',
  otp_challenges: 'otp',
  otp_sends: 'otp',
  otp_send_counts: 'otp',
  otp_verify_failures: 'otp',
  otp_api_codes: 'otp',
  otp_api_limits: 'otp',
  otp_api_guesses: 'otp',
  outbox_messages: 'notifications',
  audit_events: 'audit',
  partner_clients: 'partners',
  partner_client_keys: 'partners',
  partner_app_keys: 'partners',
  app_sessions: 'sessions',
  session_refresh_tokens: 'sessions',
  token_signing_keys: 'sessions',
  auth_flows: 'flows',
  schema_functions: 'database',
};

/**
 * Every statement that writes a table, in SQL text (TypeScript strings and .sql files), and every
 * purge through the database lib's deleteBatch (its own statement names no table).
 */
const WRITE =
  /\b(?:INSERT\s+INTO|DELETE\s+FROM|(?<!(?:DO|FOR)\s+)UPDATE)\s+"?([a-z_][a-z0-9_]*)"?|\bdeleteBatch\(\s*[\w.]+,\s*'([a-z_][a-z0-9_]*)'/g;

/** The text without its comments (prose may say "UPDATE" too). */
function withoutComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|\s)\/\/.*$/gm, '$1')
    .replace(/--.*$/gm, '');
}

function sourcesOf(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourcesOf(path);
    return /\.(ts|sql)$/.test(name) && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** lib → the tables its code writes, with where. */
function writesByLib(): Map<string, Map<string, string[]>> {
  const libs = new Map<string, Map<string, string[]>>();
  for (const lib of readdirSync(join(ROOT, 'libs'))) {
    const tables = new Map<string, string[]>();
    for (const file of sourcesOf(join(ROOT, 'libs', lib, 'src'))) {
      for (const match of withoutComments(readFileSync(file, 'utf8')).matchAll(WRITE)) {
        const table = match[1] ?? match[2];
        const places = tables.get(table) ?? [];
        places.push(relative(ROOT, file));
        tables.set(table, places);
      }
    }
    libs.set(lib, tables);
  }
  return libs;
}

describe('one writer per table', () => {
  const writes = writesByLib();

  it('finds the writes it is looking for (the scan works)', () => {
    expect([...(writes.get('otp')?.keys() ?? [])].sort()).toEqual([
      'otp_api_codes',
      'otp_api_guesses',
      'otp_api_limits',
      'otp_challenges',
      'otp_send_counts',
      'otp_sends',
      'otp_verify_failures',
    ]);
    expect(writes.get('phone-link')?.size).toBe(0);
    const planted = "deleteBatch(this.dataSource, 'links', `SELECT id FROM links`, cutoff, 10)";
    expect([...planted.matchAll(WRITE)].map((match) => match[1] ?? match[2])).toEqual(['links']);
  });

  it('every lib writes only the tables it owns', () => {
    const foreign = [...writes].flatMap(([lib, tables]) =>
      [...tables]
        .filter(([table]) => WRITERS[table] !== lib)
        .map(
          ([table, places]) =>
            `${lib} writes ${table} (owner: ${WRITERS[table] ?? 'none'}) in ${places.join(', ')}`,
        ),
    );
    expect(foreign).toEqual([]);
  });

  it('docs/architecture.md names the same writer for each table', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` +\| `([a-z-]+)` +\|/gm)].map(
      ([, table, lib]) => [table, lib],
    );
    expect(Object.fromEntries(rows)).toEqual(WRITERS);
  });
});
