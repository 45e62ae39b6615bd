import js from '@eslint/js';
import globals from 'globals';
import { builtinModules } from 'node:module';
import svelte from 'eslint-plugin-svelte';
import tseslint from 'typescript-eslint';

// DESIGN.md house rule 1, enforced: the engine never imports electron, main/ or renderer/;
// engine/api (shared with the renderer) imports no Node module; the renderer imports no Node
// module and nothing from the engine but engine/api.
const nodeModules = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];
const layering = {
  engine: {
    paths: [{ name: 'electron', message: 'engine/ is GUI-free: it never imports electron (DESIGN.md rule 1).' }],
    patterns: [
      { group: ['**/renderer', '**/renderer/**'], message: 'engine/ never imports renderer/ (DESIGN.md rule 1).' },
      { group: ['**/main/**', '../main', '../../main'], message: 'engine/ never imports its hosts in main/ (DESIGN.md rule 1).' },
    ],
  },
  engineApi: {
    paths: [
      { name: 'electron', message: 'engine/api is shared with the renderer: no electron.' },
      ...nodeModules.map((name) => ({ name, message: 'engine/api is shared with the renderer: no Node modules (DESIGN.md rule 1).' })),
    ],
    patterns: [
      { group: ['**/renderer', '**/renderer/**', '**/main/**'], message: 'engine/api imports only itself (DESIGN.md rule 1).' },
      {
        group: ['../*', '!../api', '!../api/**', '!../model', '!../model/**'],
        message: 'engine/api imports only itself and engine/model: the renderer bundles it (DESIGN.md rule 1).',
      },
    ],
  },
  renderer: {
    paths: [
      { name: 'electron', message: 'The renderer reaches the host only through the typed API client (DESIGN.md rule 2).' },
      ...nodeModules.map((name) => ({ name, message: 'The renderer imports no Node modules (DESIGN.md rule 1).' })),
    ],
    patterns: [
      {
        group: ['**/engine/**', '!**/engine/api', '!**/engine/api/**'],
        message: 'The renderer imports nothing from the engine but engine/api (DESIGN.md rule 1).',
      },
      { group: ['**/main/**'], message: 'The renderer never imports the host code in main/ (DESIGN.md rule 1).' },
    ],
  },
};

// DESIGN.md rules 4 and 6: QMP commands leave engine/qemu/qmp only as QmpClient's named methods, and
// QEMU (system emulator) option strings are built only in engine/qemu/argv. The option check is as far
// as lint can see: literal flags that only qemu-system takes, QemuOpts socket flags, `exec:` URIs.
const qemuOnlyFlags = [
  'machine', 'accel', 'cpu', 'smp', 'nodefaults', 'no-user-config', 'display', 'chardev', 'mon', 'device', 'blockdev', 'drive',
  'netdev', 'incoming', 'vnc', 'qmp', 'pidfile', 'daemonize', 'bios', 'kernel', 'initrd', 'append', 'object', 'global', 'rtc',
  'sandbox', 'enable-kvm', 'no-shutdown', 'nographic', 'monitor', 'serial',
].join('|');
const qemuOptionString = `/^-(${qemuOnlyFlags})$|(^|,)(server|wait)=(on|off)(,|$)|^exec:/`;
const closedMonitor = [
  {
    selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='execute']",
    message: 'QMP commands are sent only inside engine/qemu/qmp: call a named QmpClient method, or add one there (DESIGN.md rule 6).',
  },
];
const optionStringsInArgv = [
  { selector: `Literal[value=${qemuOptionString}]`, message: 'QEMU option strings are built only in engine/qemu/argv: use or add a builder there (DESIGN.md rule 4).' },
  { selector: `TemplateElement[value.raw=${qemuOptionString}]`, message: 'QEMU option strings are built only in engine/qemu/argv: use or add a builder there (DESIGN.md rule 4).' },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cache/', 'bench/results/', 'test-results/', 'playwright-report/', 'tests/lint/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  { files: ['engine/**/*.ts'], rules: { 'no-restricted-imports': ['error', layering.engine] } },
  { files: ['engine/api/**/*.ts'], rules: { 'no-restricted-imports': ['error', layering.engineApi] } },
  {
    // libvirt hosts run their own VMs: engine/libvirt never reaches into this computer's VM code.
    files: ['engine/libvirt/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        ...layering.engine,
        patterns: [...layering.engine.patterns, { group: ['**/vm', '**/vm/**', '!**/libvirt/**'], message: 'engine/libvirt never imports engine/vm: a libvirt host runs its own VMs.' }],
      }],
    },
  },
  {
    // The model (with its validators in model/net) reaches the renderer through engine/api.
    files: ['engine/model/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: layering.engineApi.paths, patterns: layering.engine.patterns }] },
  },
  { files: ['engine/**/*.ts', 'main/**/*.ts'], rules: { 'no-restricted-syntax': ['error', ...closedMonitor, ...optionStringsInArgv] } },
  { files: ['engine/qemu/qmp/**/*.ts'], rules: { 'no-restricted-syntax': ['error', ...optionStringsInArgv] } },
  { files: ['engine/qemu/argv/**/*.ts'], rules: { 'no-restricted-syntax': ['error', ...closedMonitor] } },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.svelte'],
    languageOptions: { globals: { ...globals.browser } },
    rules: { 'no-restricted-imports': ['error', layering.renderer] },
  },
  {
    // CommonJS on purpose (bin/virtdesk.cjs): Node starts a CommonJS main faster.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['main/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/renderer/**'], message: 'main/ never imports renderer code.' }] }] },
  },
);
