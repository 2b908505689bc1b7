// @ts-check
// `npm run demo`: index this repository and answer a question about it with citations, on the
// no-key defaults (no model, no network: the answer quotes the code it cites). The question lives here rather than in package.json so that the index (which skips this
// file, see .groundworkignore) does not find the question itself as its best hit.
import { spawnSync } from 'node:child_process';

const question = process.argv[2] ?? 'how does a file get split into chunks along syntax-tree boundaries?';
for (const args of [['index'], ['ask', question, '--no-update']]) {
  // GROUNDWORK_OFFLINE: the demo never fetches the embedding model; it runs on keyword search.
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { stdio: 'inherit', env: { GROUNDWORK_OFFLINE: '1', ...process.env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
