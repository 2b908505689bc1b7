#!/usr/bin/env node
// @ts-check
// Compares two `groundwork eval --json` outputs (e.g. the local store and --store postgres://…):
// per query, whether the top-k distinct files are the same set, the same list (order), and whether
// the hits are identical (paths, lines). Prints one JSON summary.
//   node scripts/storeOverlap.mjs A.json B.json [--k 10]
import fs from 'node:fs';

const [a, b] = process.argv.slice(2).filter((x) => !x.startsWith('--') && !/^\d+$/.test(x));
const ki = process.argv.indexOf('--k');
const k = ki > 0 ? Number(process.argv[ki + 1]) : 10;
const load = (f) => new Map(JSON.parse(fs.readFileSync(f, 'utf8')).results.map((r) => [r.id, r.hits]));
const A = load(a);
const B = load(b);
const files = (hits) => [...new Set(hits.slice(0, k).map((h) => h.path))];
let sameSet = 0;
let sameOrder = 0;
let sameHits = 0;
let jaccard = 0;
const differing = [];
for (const [id, ha] of A) {
  const hb = B.get(id) ?? [];
  const fa = files(ha);
  const fb = files(hb);
  const sa = new Set(fa);
  const inter = fb.filter((p) => sa.has(p)).length;
  const union = new Set([...fa, ...fb]).size;
  jaccard += union ? inter / union : 1;
  if (inter === sa.size && fa.length === fb.length) sameSet++;
  else differing.push(id);
  if (fa.join('\n') === fb.join('\n')) sameOrder++;
  const key = (hs) =>
    hs
      .slice(0, k)
      .map((h) => `${h.path}:${h.startLine}-${h.endLine}`)
      .join('\n');
  if (key(ha) === key(hb)) sameHits++;
}
const n = A.size;
process.stdout.write(
  `${JSON.stringify({ queries: n, k, sameFileSet: sameSet / n, sameFileOrder: sameOrder / n, identicalHits: sameHits / n, meanJaccard: jaccard / n, differing }, null, 1)}\n`,
);
