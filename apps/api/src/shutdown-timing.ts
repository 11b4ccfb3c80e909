/** From SIGTERM to a forced exit. */
export const SHUTDOWN_DEADLINE_MS = 10_000;
/**
 * In-flight requests get this long; then connections still open (slow clients) are cut, and
 * handlers still running after their clients left are no longer waited for.
 */
export const SHUTDOWN_GRACE_MS = 8_000;
