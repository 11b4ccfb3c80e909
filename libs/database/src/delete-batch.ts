import type { DataSource } from 'typeorm';

/**
 * Deletes one bounded batch from `table`: the rows whose `key` the `select` query returns, given
 * $1 = cutoff and $2 = batch size. The select ends in FOR UPDATE SKIP LOCKED, so every instance
 * can purge at once without waiting on another. Returns how many rows went.
 */
export async function deleteBatch(
  dataSource: DataSource,
  table: string,
  select: string,
  cutoff: Date,
  batch: number,
  key = 'id',
): Promise<number> {
  const [, deleted] = await dataSource.query<[unknown[], number]>(
    `DELETE FROM ${table} WHERE ${key} IN (${select})`,
    [cutoff, batch],
  );
  return deleted;
}
