// `npm run eval`: retrieval quality of Groundwork and of a whole-file BM25 baseline on both question
// sets (eval/README.md). eslint is the held-out set; mocha is the dev set used for tuning.
import { spawnSync } from 'node:child_process';

const sets = [
  ['held-out: eslint', 'node_modules/eslint', 'eval/eslint.jsonl'],
  ['dev: mocha', 'node_modules/mocha', 'eval/dev-mocha.jsonl'],
];
let failed = false;
for (const [name, ws, queries] of sets) {
  console.log(`\n${name} (${queries})`);
  for (const extra of [[], ['--baseline']]) {
    const r = spawnSync(process.execPath, ['dist/cli.js', 'eval', '--workspace', ws, '--queries', queries, '--k', '10', ...extra], { encoding: 'utf8' });
    process.stdout.write(r.stdout);
    if (r.status !== 0) {
      process.stderr.write(r.stderr);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
