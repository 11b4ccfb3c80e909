import { createServer } from 'node:http';
import { Pool } from 'pg';

/**
 * The database floor: bare node:http doing one INSERT … RETURNING per request into a scratch
 * table over a pg pool of the API's size. No API path that writes can beat one round trip and
 * one commit per request; the ratio to this shows what the API's own work costs.
 */
const port = Number(process.env.PORT ?? 0);
const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
});

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.once('end', () => {
    // GET (the readiness probe) checks the pool; anything else writes one row.
    const query =
      request.method === 'GET'
        ? pool.query<{ id: string }>('SELECT 1::text AS id')
        : pool.query<{ id: string }>(
            'INSERT INTO bench_scratch (payload) VALUES ($1) RETURNING id',
            [Buffer.concat(chunks).toString('utf8')],
          );
    query.then(
      ({ rows }) => {
        const answer = JSON.stringify({ id: rows[0].id });
        response.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(answer),
        });
        response.end(answer);
      },
      (error: unknown) => {
        process.stderr.write(`insert failed: ${String(error)}\n`);
        response.writeHead(503).end();
      },
    );
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => void pool.end().then(() => process.exit(0)));
});
