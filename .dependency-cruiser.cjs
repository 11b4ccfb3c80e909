// The one-way order of the libs (docs/architecture.md): a lib imports only libs of the groups
// below its own, and only through their index.ts. `npm run lint` runs this after ESLint.
const LAYERS = [
  // Front doors: thin translations of a wire shape; they never import each other.
  ['auth', 'admin', 'hooks', 'otp-api', 'flows', 'app-auth'],
  // Use cases: compose the domain libs' primitives in one transaction.
  ['phone-link'],
  // Domain libs, each above the ones it may use.
  ['sessions'],
  ['partners'],
  ['otp'],
  ['users'],
  ['notifications'],
  ['audit'],
  // Infrastructure.
  ['database'],
  ['config'],
  ['common'],
];

const below = (index) => LAYERS.slice(index + 1).flat();
const alternatives = (names) => `(${names.join('|')})`;

const layerRules = LAYERS.flatMap((group, index) => {
  const allowed = new Set(below(index));
  const forbidden = LAYERS.flat().filter((lib) => !allowed.has(lib));
  return group.map((lib) => ({
    name: `layers:${lib}`,
    comment: `${lib} may import only ${below(index).join(', ') || 'no other lib'}`,
    severity: 'error',
    from: { path: `^libs/${lib}/` },
    to: { path: `^libs/${alternatives(forbidden)}/`, pathNot: `^libs/${lib}/` },
  }));
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'lib-entry-point',
      comment: "a lib is used through its index.ts (import '@app/<lib>'), never a deep path",
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: ['^libs/$1/', '^libs/[^/]+/src/index\\.ts$'] },
    },
    {
      name: 'entry-point-from-outside',
      comment: 'apps, migrations, tests, bench and scripts use a lib through its index.ts',
      severity: 'error',
      from: { path: '^(apps|migrations|test|bench|scripts)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: '^libs/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'libs-not-up',
      comment: 'libs never import the apps, the migrations, tests or tooling (their specs may)',
      severity: 'error',
      from: { path: '^libs/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^(apps|migrations|test|bench|scripts)/' },
    },
    {
      name: 'apps-apart',
      comment: 'an app does not import another app (shared wiring lives in a lib or migrations/)',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(node_modules|dist|coverage)/' },
  },
};
