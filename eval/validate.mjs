// @ts-check
// Validates the retrieval evaluation sets in this directory.
// Usage: node eval/validate.mjs   (exits 1 on any problem)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SETS = [
  { file: 'eval/eslint.jsonl', workspace: 'node_modules/eslint', min: 45 },
  { file: 'eval/dev-mocha.jsonl', workspace: 'node_modules/mocha', min: 25 },
];
const KINDS = new Set(['nl', 'identifier', 'issue']);
const errors = [];
const seenIds = new Set();

for (const set of SETS) {
  const lines = fs.readFileSync(path.join(root, set.file), 'utf8').split('\n').filter(Boolean);
  const counts = { nl: 0, identifier: 0, issue: 0 };
  const fail = (n, msg) => errors.push(`${set.file}:${n}: ${msg}`);

  lines.forEach((line, i) => {
    const n = i + 1;
    let q;
    try {
      q = JSON.parse(line);
    } catch (e) {
      fail(n, `invalid JSON (${e instanceof Error ? e.message : String(e)})`);
      return;
    }
    if (typeof q.id !== 'string' || !q.id) fail(n, 'missing id');
    else if (seenIds.has(q.id)) fail(n, `duplicate id ${q.id}`);
    else seenIds.add(q.id);
    if (typeof q.query !== 'string' || !q.query.trim()) fail(n, 'empty query');
    if (!KINDS.has(q.kind)) fail(n, `bad kind ${q.kind}`);
    else counts[q.kind]++;
    if (!Array.isArray(q.expected) || q.expected.length < 1 || q.expected.length > 3) {
      fail(n, 'expected must list 1-3 files');
      return;
    }
    const lengths = {};
    for (const rel of q.expected) {
      const abs = path.join(root, set.workspace, rel);
      if (rel.includes('\\') || path.isAbsolute(rel)) fail(n, `path must be relative with '/': ${rel}`);
      else if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) fail(n, `missing file ${rel}`);
      else lengths[rel] = fs.readFileSync(abs, 'utf8').split('\n').length;
    }
    for (const [rel, range] of Object.entries(q.lines ?? {})) {
      if (!q.expected.includes(rel)) fail(n, `lines key not in expected: ${rel}`);
      const ok = Array.isArray(range) && range.length === 2 && range.every(Number.isInteger) && range[0] >= 1 && range[0] <= range[1] && range[1] <= (lengths[rel] ?? 0);
      if (!ok) fail(n, `bad line range ${JSON.stringify(range)} for ${rel}`);
    }
  });

  if (lines.length < set.min) errors.push(`${set.file}: ${lines.length} questions, need >= ${set.min}`);
  console.log(`${set.file}: ${lines.length} questions (nl ${counts.nl}, identifier ${counts.identifier}, issue ${counts.issue})`);
}

if (errors.length) {
  console.error(errors.join('\n'));
  process.exit(1);
}
console.log('OK');
