/** What a resend timer tells its listener once a second and when it ends. */
export interface ResendTimerState {
  /** Whole seconds until a resend is allowed; 0 when it is. */
  secondsLeft: number;
  canResend: boolean;
}

export interface ResendTimer {
  /** Starts (or restarts) the countdown: `resendAfter` of register/resend, or `retryAfter`. */
  start(seconds: number): void;
  /** Stops the countdown without allowing a resend early (e.g. the form is done). */
  stop(): void;
  readonly state: ResendTimerState;
}

export interface ResendTimerOptions {
  /** Milliseconds since the epoch; tests pass a fake. */
  now?: () => number;
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

/**
 * A countdown for the "resend code" button. It follows the wall clock, not the number of ticks,
 * so a background tab whose timers were throttled shows the right number when it comes back.
 */
export function createResendTimer(
  onChange: (state: ResendTimerState) => void,
  options: ResendTimerOptions = {},
): ResendTimer {
  const now = options.now ?? (() => Date.now());
  const schedule = options.setTimeout ?? ((callback, ms) => setTimeout(callback, ms));
  const cancel =
    options.clearTimeout ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
  let endsAt = 0;
  let handle: unknown;
  let state: ResendTimerState = { secondsLeft: 0, canResend: true };

  const publish = (next: ResendTimerState) => {
    if (next.secondsLeft === state.secondsLeft && next.canResend === state.canResend) return;
    state = next;
    onChange(state);
  };

  const tick = () => {
    handle = undefined;
    const msLeft = endsAt - now();
    if (msLeft <= 0) {
      publish({ secondsLeft: 0, canResend: true });
      return;
    }
    publish({ secondsLeft: Math.ceil(msLeft / 1000), canResend: false });
    // Wake at the next whole second of the countdown.
    handle = schedule(tick, msLeft % 1000 || 1000);
  };

  return {
    start(seconds: number) {
      if (handle !== undefined) cancel(handle);
      handle = undefined;
      const whole = Number.isFinite(seconds) ? Math.max(0, Math.ceil(seconds)) : 0;
      endsAt = now() + whole * 1000;
      tick();
    },
    stop() {
      if (handle !== undefined) cancel(handle);
      handle = undefined;
      endsAt = 0;
      publish({ secondsLeft: 0, canResend: false });
    },
    get state() {
      return state;
    },
  };
}
