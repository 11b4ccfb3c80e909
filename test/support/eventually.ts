/**
 * Polls `probe` until it returns true, or fails after `timeoutMs`: for effects that arrive
 * asynchronously by design (a change announced by the database to other instances).
 */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
