import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * CPU use of the server, PostgreSQL and the load driver during a run, from /proc (Linux only;
 * elsewhere the numbers are left out). On a small machine the three compete for the same cores,
 * so these say which one was saturated.
 */
const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux the bench targets

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** utime + stime of one process, in clock ticks. */
function processTicks(pid: number): number | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function postgresTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return ticks;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    if (readText(`/proc/${entry}/comm`)?.trim() !== 'postgres') continue;
    const value = processTicks(Number(entry));
    if (value !== undefined) ticks.set(Number(entry), value);
  }
  return ticks;
}

function machineTicks(): { busy: number; total: number } | undefined {
  const line = readText('/proc/stat')?.split('\n')[0];
  if (!line?.startsWith('cpu ')) return undefined;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

export function rssMb(pid: number): number | undefined {
  const match = /VmRSS:\s+(\d+) kB/.exec(readText(`/proc/${pid}/status`) ?? '');
  return match ? Math.round(Number(match[1]) / 1024) : undefined;
}

export interface CpuUse {
  /** Percent of one core. */
  serverPct?: number;
  /** All postgres processes on the machine (other users of the server included), percent of one core. */
  postgresPct?: number;
  /** The bench process itself (autocannon and request generation), percent of one core. */
  clientPct: number;
  /** All cores, percent of the machine. */
  machinePct?: number;
  /**
   * Everything else (other users' processes, the kernel), percent of one core: a bench on a
   * shared machine is only as good as this is small.
   */
  otherPct?: number;
}

export interface CpuSample {
  at: number;
  server?: number;
  postgres: Map<number, number>;
  client: NodeJS.CpuUsage;
  machine?: { busy: number; total: number };
}

export function sampleCpu(serverPid?: number): CpuSample {
  return {
    at: performance.now(),
    server: serverPid === undefined ? undefined : processTicks(serverPid),
    postgres: postgresTicks(),
    client: process.cpuUsage(),
    machine: machineTicks(),
  };
}

export function cpuBetween(before: CpuSample, after: CpuSample): CpuUse {
  const seconds = (after.at - before.at) / 1000;
  const pct = (ticks: number) => Math.round((ticks / CLOCK_TICKS_PER_SECOND / seconds) * 100);
  let postgres = 0;
  for (const [pid, ticks] of after.postgres) {
    // Backends that started during the run count from zero.
    postgres += ticks - (before.postgres.get(pid) ?? 0);
  }
  const client =
    after.client.user - before.client.user + (after.client.system - before.client.system);
  const use: CpuUse = { clientPct: Math.round((client / 1e6 / seconds) * 100) };
  if (before.server !== undefined && after.server !== undefined) {
    use.serverPct = pct(after.server - before.server);
  }
  if (after.postgres.size > 0) use.postgresPct = pct(postgres);
  if (before.machine && after.machine) {
    const total = after.machine.total - before.machine.total;
    use.machinePct =
      total > 0 ? Math.round(((after.machine.busy - before.machine.busy) / total) * 100) : 0;
    const ours = use.clientPct + (use.serverPct ?? 0) + (use.postgresPct ?? 0);
    use.otherPct = Math.max(0, use.machinePct * cpus().length - ours);
  }
  return use;
}
