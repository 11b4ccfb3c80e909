/** Small typed readers for environment variables; each error names the variable. */
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Collects every problem so one boot reports them all, not just the first. */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = /^-?\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.problems.push(`${name} must be an integer ${min}-${max}, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return parsed;
  }

  /** A share from 0 to 1, written `0.2` or `20%`. */
  fraction(name: string, fallback: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(value);
    const parsed = match ? Number(match[1]) / (match[2] ? 100 : 1) : NaN;
    if (!(parsed >= 0 && parsed <= 1)) {
      this.problems.push(
        `${name} must be a share from 0 to 1 (or 0% to 100%), got ${JSON.stringify(value)}`,
      );
      return fallback;
    }
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['true', '1', 'yes'].includes(value)) return true;
    if (['false', '0', 'no'].includes(value)) return false;
    this.problems.push(`${name} must be true or false, got ${JSON.stringify(value)}`);
    return fallback;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(
      `${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
    );
    return fallback;
  }

  /** Comma-separated list; empty entries dropped; `none` is the empty list (unset: the default). */
  list(name: string, fallback: readonly string[] = []): string[] {
    const value = this.raw(name);
    if (value === undefined) return [...fallback];
    if (value.toLowerCase() === 'none') return [];
    return value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (protocols.includes(parsed.protocol)) return value;
    } catch {
      // reported below
    }
    this.problems.push(`${name} must be a ${protocols.join(' or ')} URL`);
    return undefined;
  }

  fail(problem: string): void {
    this.problems.push(problem);
  }
}
