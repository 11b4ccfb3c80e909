import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { freePort } from '../support/server-process';

const ROOT = join(__dirname, '..', '..');

interface Service {
  environment?: Record<string, string>;
  restart?: string;
  healthcheck?: { test: string[] };
}
const compose = load(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};
const api = compose.services.api;

/** The variables .env.example documents (set or commented out). */
const documented = new Set(
  [...readFileSync(join(ROOT, '.env.example'), 'utf8').matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map(
    ([, name]) => name,
  ),
);

/** docker-compose.yml: what an operator's first production deployment needs from it. */
describe('docker-compose.yml', () => {
  it('passes the operators settings through to the API', () => {
    for (const name of ['ADMIN_API_KEY', 'TRUST_PROXY', 'CORS_ORIGINS', 'PARTNER_JWT_FALLBACK']) {
      expect({ name, value: api.environment?.[name] }).toEqual({
        name,
        value: expect.stringMatching(new RegExp(`^\\$\\{${name}:[-?]`)),
      });
    }
  });

  it('gives the API only variables the service reads', () => {
    for (const name of Object.keys(api.environment ?? {})) {
      expect({ name, documented: documented.has(name) }).toEqual({ name, documented: true });
    }
  });

  it('restarts the long-running services, and checks the API through /health', () => {
    for (const name of ['api', 'postgres', 'redis']) {
      expect({ name, restart: compose.services[name].restart }).toEqual({
        name,
        restart: 'unless-stopped',
      });
    }
    expect(api.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:3000/health');
  });

  it('takes the PostgreSQL password from the environment, never from the file', () => {
    expect(compose.services.postgres.environment?.POSTGRES_PASSWORD).toMatch(
      /^\$\{POSTGRES_PASSWORD:\?/,
    );
    for (const service of ['api', 'migrate']) {
      expect(compose.services[service].environment?.DATABASE_URL).toBe(
        'postgres://otp:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/otp_link',
      );
    }
  });

  it("the API's healthcheck command exits 0 on a healthy answer and 1 otherwise", async () => {
    const [command, ...args] = api.healthcheck!.test.slice(1);
    const port = await freePort();
    const run = () =>
      new Promise<number>((resolve) =>
        execFile(
          command === 'node' ? process.execPath : command,
          args.map((arg) => arg.replace('127.0.0.1:3000', `127.0.0.1:${port}`)),
          (error) => resolve(error ? Number(error.code) : 0),
        ),
      );
    let status = 200;
    const server = createServer((request, response) => {
      response.statusCode = request.url === '/health' ? status : 404;
      response.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await run()).toBe(0);
      status = 503;
      expect(await run()).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await run()).toBe(1); // nothing listening
  });
});

/** How the API process is started: the Dockerfile, npm start and npm run start:prod. */
describe('the API process', () => {
  const scripts = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const dockerCmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];

  it('runs with the same node options wherever it starts, a heap limit among them', () => {
    // V8 sizes its heap from the machine's memory and lets it grow to about four times the live
    // objects before collecting: without a limit the API's RSS reached 340-365 MB under load
    // for a live heap under 100 MB (docs/operations.md, "Memory").
    const prod = scripts['start:prod'].split(' ');
    expect(JSON.parse(dockerCmd ?? '[]')).toEqual(prod);
    const options = prod.filter((word) => word.startsWith('--'));
    expect(options).toContainEqual(expect.stringMatching(/^--max-old-space-size=\d+$/));
    expect(scripts.start).toBe(`nest start --exec "node ${options.join(' ')}"`);
  });
});
