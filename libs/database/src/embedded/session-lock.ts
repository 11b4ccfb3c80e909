// Node's own, not the globals: a test that fakes timers must not stop the database.
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';

/**
 * A FIFO mutex: `acquire` resolves with a release function once every earlier holder released.
 *
 * PGlite runs each query synchronously, so under load the holders pass the lock from one to the
 * next in microtasks, a chain the waiters keep alive, and Node reads no socket until it runs dry:
 * requests that needed I/O (a body to read, a response to finish) waited seconds (embedded bench,
 * 50 connections: verify p99 1.2 to 4.8 s against a p50 of 0.2 to 0.3 s). So once holders have
 * passed the lock among themselves for a slice of time (10 ms), the next handover waits for the
 * event loop's check phase (setImmediate): p99 0.6 to 0.9 s, throughput unchanged. Waiting on
 * every handover cut the tail as much but cost a quarter of register's throughput.
 */
export class SessionLock {
  private tail: Promise<void> = Promise.resolve();
  /** When a handover last let the event loop run. */
  private lastTurn = 0;

  constructor(
    private readonly sliceMs = 10,
    private readonly now: () => number = () => performance.now(),
  ) {}

  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = () => this.handOver(resolve)));
    const acquired = this.tail.then(() => once(release));
    this.tail = this.tail.then(() => held);
    return acquired;
  }

  private handOver(next: () => void): void {
    if (this.now() - this.lastTurn < this.sliceMs) return next();
    setImmediate(() => {
      this.lastTurn = this.now();
      next();
    });
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}
