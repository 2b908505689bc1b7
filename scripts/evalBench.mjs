// @ts-check
// `npm run eval:bench -- --mirrors DIR [--bench ../shared/bench] [--record docs/evaluation.md] [--data issues]`
//
// Retrieval quality on the dev bench (../shared/bench, see its README), exactly as its harness sees
// it: the bench's own run.mjs drives `groundwork eval --json` (the extension's retrieval path) on
// every snapshot, then the same harness runs the bench's BM25 floor and its no-tests variant, and
// this script prints one table per grouping (benchmark, language, repository, question kind) with
// the three side by side. The embedder is pinned to `none` and GROUNDWORK_OFFLINE=1, so a model
// cached on this machine cannot change a row; the JSON of every run states its retrieval mode.
//
// DIR is the folder where the search tool's `fetch` put the repositories' mirrors
// (`<DIR>/<owner>+<name>/repo`); snapshots are made from them by the bench's materialize.sh
// (idempotent). Nothing of the repositories is written into this project.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spliceSection } from '../src/cli/recordSection.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    mirrors: { type: 'string', default: process.env.GROUNDWORK_BENCH_MIRRORS },
    bench: { type: 'string', default: path.join(root, '..', 'shared', 'bench') },
    record: { type: 'string' },
    data: { type: 'string', multiple: true },
    out: { type: 'string', default: path.join(os.tmpdir(), 'groundwork-eval-bench') },
  },
});
const bench = path.resolve(o.bench);
if (!fs.existsSync(path.join(bench, 'run.mjs'))) {
  console.error(`eval:bench: no bench at ${bench} (pass --bench DIR)`);
  process.exit(2);
}
const cli = path.join(root, 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('eval:bench: dist/cli.js is missing; run `npm run build` first');
  process.exit(2);
}

function run(cmd, args, extraEnv = {}) {
  // The harness's own tables go to stderr; stdout carries only this script's report.
  const r = spawnSync(cmd, args, { stdio: ['ignore', 2, 'inherit'], env: { ...process.env, ...extraEnv } });
  if (r.status !== 0) {
    console.error(`eval:bench: ${path.basename(cmd)} ${args.slice(0, 2).join(' ')} failed (exit ${r.status})`);
    process.exit(1);
  }
}

if (o.mirrors) run('bash', [path.join(bench, 'materialize.sh'), '--mirrors', path.resolve(o.mirrors)]);
else console.error('eval:bench: no --mirrors given; using the snapshots that are already there');

const sets = o.data?.length ? o.data : ['issues', 'questions'];
const dataArgs = sets.flatMap((s) => ['--data', path.join(bench, 'data', `${s}.jsonl`)]);
const systems = [
  {
    key: 'groundwork',
    label: 'Groundwork (lexical-only, embedder pinned off)',
    cmd: `node ${cli} eval --workspace {workspace} --queries {queries} --k {k} --json --embedder none`,
  },
  { key: 'floor', label: 'BM25 floor', cmd: 'node {bench}/baseline_bm25.mjs eval --workspace {workspace} --queries {queries} --k {k} --json' },
  { key: 'nofloor', label: 'no-tests floor', cmd: 'node {bench}/baseline_bm25.mjs eval --workspace {workspace} --queries {queries} --k {k} --json --exclude-tests' },
];
const summaries = {};
for (const s of systems) {
  const out = path.join(o.out, s.key);
  fs.rmSync(out, { recursive: true, force: true });
  console.error(`eval:bench: ${s.label}…`);
  run(process.execPath, [path.join(bench, 'run.mjs'), '--cmd', s.cmd, '--out', out, ...dataArgs], { GROUNDWORK_OFFLINE: '1' });
  summaries[s.key] = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
}

const f = (x) => (typeof x === 'number' ? x.toFixed(3) : '–');
const cols = [
  ['recall@1', 'R@1'],
  ['recall@5', 'R@5'],
  ['recall@10', 'R@10'],
  ['mrr', 'MRR@10'],
  ['range_recall@10', 'range_recall@10'],
];
function table(title, group) {
  const g = summaries.groundwork[group] ?? {};
  const lines = [
    `### ${title}`,
    '',
    `| ${title.toLowerCase()} | n | ${cols.map(([, h]) => h).join(' | ')} | lines@10 | floor R@5 / MRR | no-tests floor R@5 / MRR |`,
    `|---|---|${cols.map(() => '---').join('|')}|---|---|---|`,
  ];
  for (const [name, a] of Object.entries(g)) {
    if (name === 'ALL' && Object.keys(g).length <= 2) continue;
    const fl = summaries.floor[group]?.[name] ?? {};
    const nt = summaries.nofloor[group]?.[name] ?? {};
    lines.push(
      `| ${name} | ${a.n} | ${cols.map(([c]) => f(a[c])).join(' | ')} | ${Math.round(a['lines@10'] ?? 0)} | ${f(fl['recall@5'])} / ${f(fl.mrr)} | ${f(nt['recall@5'])} / ${f(nt.mrr)} |`,
    );
  }
  return lines.join('\n');
}
const g = summaries.groundwork;
const report = [
  `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run eval:bench\` (${g.n_queries} queries, ${g.answered} answered, ${g.failures.length} failures; mean ${g.cli_seconds_per_snapshot_mean} s per snapshot including a fresh index).`,
  '',
  table('Benchmark', 'bySet'),
  '',
  table('Language', 'byLang'),
  '',
  table('Repository', 'byRepo'),
  '',
  table('Question kind', 'byKind'),
].join('\n');
process.stdout.write(`${report}\n`);

if (o.record) {
  const file = path.resolve(o.record);
  const next = spliceSection(fs.readFileSync(file, 'utf8'), 'bench-eval', report, { append: false });
  if (next === undefined) {
    console.error(`eval:bench: ${file} has no <!-- bench-eval:begin --> … <!-- bench-eval:end --> section to replace`);
    process.exit(1);
  }
  fs.writeFileSync(file, next);
  console.error(`eval:bench: recorded in ${file}`);
}
