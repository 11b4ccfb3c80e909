-- The floor's table: floor.sql inserts a row into it.
CREATE TABLE bench_scratch (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
