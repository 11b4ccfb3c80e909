import { createResendTimer, parseRetryAfter, ResendTimerState } from '../src';

/** A clock and timer queue the test moves by hand. */
function fakeTime() {
  let now = 1_000_000;
  let timers: Array<{ at: number; callback: () => void; id: number }> = [];
  let nextId = 1;
  return {
    now: () => now,
    setTimeout: (callback: () => void, ms: number) => {
      timers.push({ at: now + ms, callback, id: nextId });
      return nextId++;
    },
    clearTimeout: (id: unknown) => {
      timers = timers.filter((timer) => timer.id !== id);
    },
    /** Moves the clock, running the timers that come due (as a throttled tab may: late). */
    advance(ms: number, { throttled = false } = {}) {
      const end = now + ms;
      if (throttled) {
        now = end;
        const due = timers.filter((timer) => timer.at <= end);
        timers = timers.filter((timer) => timer.at > end);
        for (const timer of due) timer.callback();
        return;
      }
      for (;;) {
        const due = timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((timer) => timer !== due);
        now = due.at;
        due.callback();
      }
      now = end;
    },
    pending: () => timers.length,
  };
}

describe('createResendTimer', () => {
  it('counts down each second from resendAfter and then allows a resend', () => {
    const time = fakeTime();
    const states: ResendTimerState[] = [];
    const timer = createResendTimer((state) => states.push(state), time);
    timer.start(3);
    expect(timer.state).toEqual({ secondsLeft: 3, canResend: false });
    time.advance(1000);
    time.advance(1000);
    time.advance(999);
    expect(timer.state.secondsLeft).toBe(1);
    time.advance(1);
    expect(states.map((state) => state.secondsLeft)).toEqual([3, 2, 1, 0]);
    expect(timer.state).toEqual({ secondsLeft: 0, canResend: true });
    expect(time.pending()).toBe(0);
  });

  it('follows the clock when its ticks come late (a background tab)', () => {
    const time = fakeTime();
    const timer = createResendTimer(() => undefined, time);
    timer.start(30);
    time.advance(25_500, { throttled: true });
    expect(timer.state).toEqual({ secondsLeft: 5, canResend: false });
    time.advance(10_000, { throttled: true });
    expect(timer.state.canResend).toBe(true);
  });

  it('restarts on a new start (Retry-After of a 429), and stop() holds the button off', () => {
    const time = fakeTime();
    const timer = createResendTimer(() => undefined, time);
    timer.start(30);
    time.advance(10_000);
    timer.start(12.2);
    expect(timer.state.secondsLeft).toBe(13);
    expect(time.pending()).toBe(1);
    timer.stop();
    expect(timer.state).toEqual({ secondsLeft: 0, canResend: false });
    expect(time.pending()).toBe(0);
    timer.start(0);
    expect(timer.state.canResend).toBe(true);
    timer.start(Number.NaN);
    expect(timer.state.canResend).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, and nothing else', () => {
    expect(parseRetryAfter('42')).toBe(42);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    const now = Date.parse('2026-12-06T10:00:00Z');
    expect(parseRetryAfter('Sun, 06 Dec 2026 10:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Sun, 06 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-5')).toBeUndefined();
  });
});
