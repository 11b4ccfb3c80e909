/**
 * Summarises a V8 CPU profile (the API run with BENCH_CPU_PROFILE): where the samples fell, by
 * package / source area and by function, self time only, as percent of all non-idle samples.
 *
 *   npm run -s bench:profile -- <file.cpuprofile> [top N]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/** The package or source area a frame belongs to. */
function areaOf(url: string, functionName: string): string {
  if (!url) return `(${functionName || 'native'})`;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1];
  const app = /dist\/((?:apps|libs)\/[^/]+)/.exec(url);
  if (app) return app[1];
  if (url.startsWith('node:'))
    return url.split('/')[0].replace(/:.*$/, ':') + url.slice(5).split('/')[0];
  return url;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary <file.cpuprofile> [top N]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);

const areas = new Map<string, number>();
const functions = new Map<string, number>();
let busy = 0;
for (const [id, count] of hits) {
  const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
  if (functionName === '(idle)' || functionName === '(program)') continue;
  busy += count;
  const area = areaOf(url, functionName);
  areas.set(area, (areas.get(area) ?? 0) + count);
  const name = `${functionName || '(anonymous)'} ${area}:${lineNumber + 1}`;
  functions.set(name, (functions.get(name) ?? 0) + count);
}

const print = (title: string, rows: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, count] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * count) / busy).toFixed(1).padStart(6)}%  ${name}\n`);
  }
};
process.stdout.write(`${busy} busy samples of ${profile.samples.length}\n`);
print('self time by package / area', areas);
print('self time by function', functions);
