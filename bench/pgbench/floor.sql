-- The floor of `npm run bench` without its HTTP server: one INSERT … RETURNING into a scratch table.
INSERT INTO bench_scratch (payload) VALUES ('{"n":1}') RETURNING id;
