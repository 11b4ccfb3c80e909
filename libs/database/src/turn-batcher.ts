import DataLoader from 'dataloader';

/**
 * Gathers the calls made in one turn of the event loop into one call of `load` (at most
 * `maxBatchSize` keys at a time), so that under load one statement serves many requests; a call
 * alone waits one turn. Nothing is cached (`cache: false`): each call's answer is read after the
 * call was made.
 */
export function perTurnBatcher<K, V>(
  load: (keys: readonly K[]) => Promise<V[]>,
  maxBatchSize: number,
): DataLoader<K, V> {
  return new DataLoader<K, V>(load, {
    cache: false,
    maxBatchSize,
    batchScheduleFn: (run) => setImmediate(run),
  });
}
