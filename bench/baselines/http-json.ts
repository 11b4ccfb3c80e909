import { createServer } from 'node:http';

/**
 * The framework ceiling: bare node:http reading the request body and answering a small JSON.
 * Whatever the API does on top (routing, validation, JWT, logging, the database) costs the gap
 * between this and its numbers.
 */
const port = Number(process.env.PORT ?? 0);
const ANSWER = JSON.stringify({ ok: true, authCode: '12345678', expiresIn: 300 });

const server = createServer((request, response) => {
  request.resume();
  request.once('end', () => {
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(ANSWER),
    });
    response.end(ANSWER);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
