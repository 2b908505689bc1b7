/**
 * Answer-level evaluation and the weak-context threshold.
 *   node scripts/build.mjs --scripts && node out/scripts/calibrate.js
 *   node out/scripts/calibrate.js --bench ../shared/bench   (the dev bench's questions, see below)
 * With --bench: the bench's 60 answerable questions on its two JavaScript/TypeScript repositories
 * against eval/unanswerable-bench.jsonl (20 questions those repositories cannot answer), with the
 * retrieval the answers use; prints, per threshold, how often the caution fires on answerable
 * questions and how many unanswerable ones it catches.
 * 1. On the DEV corpus (mocha): retrieval coverage of answerable questions (eval/dev-mocha.jsonl)
 *    vs unanswerable ones (eval/unanswerable-mocha.jsonl); prints the threshold with the best
 *    balanced accuracy.
 * 2. On the HELD-OUT corpus (eslint), with the threshold in src/core/answer.ts: how many answerable
 *    questions are wrongly flagged weak, how many unanswerable ones are caught; and for extractive
 *    answers, the share whose citations include an expected file and the citation integrity.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { answerQuestion, localRetriever, retrievalCoverage, WEAK_CONTEXT_THRESHOLD } from '../src/core/answer';
import { search } from '../src/core/retrieval';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';

interface Q {
  id: string;
  query: string;
  expected?: string[];
}

function load(file: string): Q[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Q);
}

async function withIndex<T>(ws: string, fn: (index: WorkspaceIndex) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-cal-'));
  const index = await WorkspaceIndex.open({ roots: rootsFromDirs([path.resolve(ws)]), indexDir: dir });
  try {
    await index.update();
    return await fn(index);
  } finally {
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function coverages(index: WorkspaceIndex, qs: Q[], opts: { maxTerms?: number; topHits?: number } = {}): Promise<number[]> {
  const out: number[] = [];
  for (const q of qs) out.push(retrievalCoverage(index, q.query, await search(index, q.query, { k: 10 }), opts));
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

interface BenchQ extends Q {
  repo: string;
  commit?: string;
}

async function benchCalibration(bench: string): Promise<void> {
  const snapshots = process.env.GROUNDWORK_BENCH_DIR ?? path.join(tmpdir(), 'groundwork-bench');
  const answerable = load(path.join(bench, 'data', 'questions.jsonl')) as BenchQ[];
  const unanswerable = load('eval/unanswerable-bench.jsonl') as BenchQ[];
  const pos: number[] = [];
  const neg: number[] = [];
  for (const repo of [...new Set(answerable.map((q) => q.repo))]) {
    const commit = answerable.find((q) => q.repo === repo)!.commit!;
    await withIndex(path.join(snapshots, `${repo}@${commit}`), async (index) => {
      const retriever = localRetriever(index);
      for (const q of answerable.filter((x) => x.repo === repo)) pos.push((await retriever.retrieve(q.query, 10)).coverage);
      for (const q of unanswerable.filter((x) => x.repo === repo)) neg.push((await retriever.retrieve(q.query, 10)).coverage);
    });
  }
  const q = (xs: number[]) =>
    [...xs]
      .sort((a, b) => a - b)
      .map((x) => x.toFixed(2))
      .join(' ');
  console.log(`bench coverage, answerable (${pos.length}):   ${q(pos)}`);
  console.log(`bench coverage, unanswerable (${neg.length}): ${q(neg)}`);
  for (let t = 0.3; t < 0.86; t += 0.05) {
    const fires = pos.filter((c) => c < t).length;
    const caught = neg.filter((c) => c < t).length;
    console.log(
      `threshold ${t.toFixed(2)}: fires on ${fires}/${pos.length} answerable (${pct(fires / pos.length)}), catches ${caught}/${neg.length} unanswerable (${pct(caught / neg.length)})${Math.abs(t - WEAK_CONTEXT_THRESHOLD) < 1e-9 ? '  ← current' : ''}`,
    );
  }
}

async function main(): Promise<void> {
  const benchAt = process.argv.indexOf('--bench');
  if (benchAt > 0) return benchCalibration(path.resolve(process.argv[benchAt + 1] ?? '../shared/bench'));
  await withIndex('node_modules/mocha', async (index) => {
    for (const maxTerms of [4, 6, 8, 12, Infinity]) {
      for (const topHits of [1, 3, 5]) {
        const p = await coverages(index, load('eval/dev-mocha.jsonl'), { maxTerms, topHits });
        const n = await coverages(index, load('eval/unanswerable-mocha.jsonl'), { maxTerms, topHits });
        let b = { t: 0, acc: 0 };
        for (let t = 0.05; t < 1; t += 0.05) {
          const acc = (p.filter((c) => c >= t).length / p.length + n.filter((c) => c < t).length / n.length) / 2;
          if (acc > b.acc + 1e-9) b = { t, acc };
        }
        console.log(`dev variant: ${maxTerms} terms, top ${topHits} hits → threshold ${b.t.toFixed(2)}, balanced accuracy ${pct(b.acc)}`);
      }
    }
    const pos = await coverages(index, load('eval/dev-mocha.jsonl'));
    const neg = await coverages(index, load('eval/unanswerable-mocha.jsonl'));
    let best = { t: 0, acc: 0 };
    for (let t = 0.05; t < 1; t += 0.05) {
      const acc = (pos.filter((c) => c >= t).length / pos.length + neg.filter((c) => c < t).length / neg.length) / 2;
      if (acc > best.acc + 1e-9) best = { t, acc };
    }
    const q = (xs: number[]) =>
      [...xs]
        .sort((a, b) => a - b)
        .map((x) => x.toFixed(2))
        .join(' ');
    console.log(`dev (mocha) coverage, answerable:   ${q(pos)}`);
    console.log(`dev (mocha) coverage, unanswerable: ${q(neg)}`);
    console.log(`best threshold on dev: ${best.t.toFixed(2)} (balanced accuracy ${pct(best.acc)})`);
  });
  await withIndex('node_modules/eslint', async (index) => {
    const answerable = load('eval/eslint.jsonl');
    const pos = await coverages(index, answerable);
    const neg = await coverages(index, load('eval/unanswerable-eslint.jsonl'));
    const t = WEAK_CONTEXT_THRESHOLD;
    console.log(
      `held-out (eslint) at threshold ${t}: answerable flagged weak ${pos.filter((c) => c < t).length}/${pos.length}, unanswerable flagged weak ${neg.filter((c) => c < t).length}/${neg.length}`,
    );
    let withExpected = 0;
    let verified = 0;
    let total = 0;
    for (const qq of answerable) {
      const r = await answerQuestion(localRetriever(index), qq.query);
      const cited = new Set(r.citations.filter((c) => c.status === 'verified').map((c) => c.path));
      if (qq.expected?.some((e) => cited.has(e))) withExpected++;
      verified += r.citationIntegrity.verified;
      total += r.citationIntegrity.total;
    }
    console.log(`held-out (eslint) extractive answers citing an expected file: ${withExpected}/${answerable.length} (${pct(withExpected / answerable.length)})`);
    console.log(`held-out (eslint) citation integrity: ${verified}/${total} (${pct(total ? verified / total : 1)})`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
