// @ts-check
// `npm run eval [-- --record docs/evaluation.md]`: retrieval quality of Groundwork and of a
// whole-file BM25 baseline on both question sets (eval/README.md), overall and per question kind.
// It goes through the public `groundwork eval --json` contract and scores the output here, so the
// numbers are exactly what an external harness would see. eslint is the held-out set; mocha is the
// dev set used for tuning.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { spliceSection } from '../src/cli/recordSection.mjs';
import { distinctPaths as distinct, fileMetrics } from '../src/core/metrics.mjs';

const sets = [
  { name: 'held-out: eslint', ws: 'node_modules/eslint', queries: 'eval/eslint.jsonl' },
  { name: 'dev: mocha', ws: 'node_modules/mocha', queries: 'eval/dev-mocha.jsonl' },
];
const systems = [
  { name: 'whole-file BM25 baseline', args: ['--baseline'] },
  { name: 'Groundwork', args: [] },
];

// One scorer for every front end (src/core/metrics.mjs), applied here to the public JSON output.
function score(questions, results) {
  const m = fileMetrics(questions, results);
  return { n: m.queries, r1: m.recallAt1, r5: m.recallAt5, r10: m.recallAt10, mrr: m.mrrAt10 };
}

const f = (x) => x.toFixed(3);
const lines = [];
let failed = false;
for (const set of sets) {
  const questions = fs
    .readFileSync(set.queries, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  const kinds = ['all', ...distinct(questions.map((q) => q.kind))];
  lines.push(`### ${set.name} (${set.queries}, ${questions.length} questions)`, '');
  lines.push('| system | questions | R@1 | R@5 | R@10 | MRR@10 |', '| --- | --- | --- | --- | --- | --- |');
  for (const sys of systems) {
    const r = spawnSync(process.execPath, ['dist/cli.js', 'eval', '--workspace', set.ws, '--queries', set.queries, '--k', '10', '--json', ...sys.args], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) {
      process.stderr.write(r.stderr);
      failed = true;
      continue;
    }
    const { results } = JSON.parse(r.stdout);
    for (const kind of kinds) {
      const qs = kind === 'all' ? questions : questions.filter((q) => q.kind === kind);
      const m = score(qs, results);
      lines.push(`| ${sys.name}${kind === 'all' ? '' : ` — ${kind}`} | ${m.n} | ${f(m.r1)} | ${f(m.r5)} | ${f(m.r10)} | ${f(m.mrr)} |`);
    }
  }
  lines.push('');
}
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
const recordAt = process.argv.indexOf('--record');
if (recordAt > 0 && process.argv[recordAt + 1]) {
  const file = process.argv[recordAt + 1];
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  // With append 'blank-line' the splicer always returns the new text.
  fs.writeFileSync(file, /** @type {string} */ (spliceSection(current, 'eval', table, { append: 'blank-line' })));
  console.error(`recorded in ${file}`);
}
process.exit(failed ? 1 : 0);
