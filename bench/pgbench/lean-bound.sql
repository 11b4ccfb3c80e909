-- The bound of a lean register (lean-bound.schema.sql): a new user and a new phone per call, as
-- register.sql.
\set u random(1, 1000000000)
\set p random(100000000, 999999999)
SELECT lean_register(:u, :p);
