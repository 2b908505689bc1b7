/**
 * Tuning harness on the retrieval dev bench (../shared/bench): indexes each snapshot once (kept in a
 * cache folder between runs), then runs every variant of the search options in-process and scores
 * it with the bench's own metrics module. For exploring settings quickly; the numbers reported in
 * docs/evaluation.md come from the bench's harness through `groundwork eval` (npm run eval:bench).
 *
 *   node scripts/build.mjs --scripts
 *   node out/scripts/benchTune.js --bench ../shared/bench [--data issues] [--variants variants.json]
 *        [--cache /tmp/gw-bench-cache] [--snapshots /tmp/groundwork-bench] [--repo owner/name] [--per-query out.jsonl]
 *
 * variants.json: {"name": {SearchOptions...}, ...}; without it, the defaults only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { search, type SearchOptions } from '../src/core/retrieval';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';
import { hash16 } from '../src/core/hash';

interface BenchRecord {
  id: string;
  repo: string;
  commit: string;
  language: string;
  kind?: string;
  query: string;
  gold_files: string[];
  gold_ranges?: Array<{ path: string; start: number; end: number }>;
}

type Metrics = Record<string, number>;
interface MetricsModule {
  scoreQuery(inst: BenchRecord, hits: Array<{ path: string; startLine: number; endLine: number }>): Metrics;
  aggregate(rows: Array<{ metrics: Metrics }>): Metrics;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bench: { type: 'string', default: '../shared/bench' },
      data: { type: 'string', multiple: true },
      variants: { type: 'string' },
      cache: { type: 'string', default: path.join(os.tmpdir(), 'gw-bench-cache') },
      snapshots: { type: 'string', default: process.env.GROUNDWORK_BENCH_DIR ?? path.join(os.tmpdir(), 'groundwork-bench') },
      repo: { type: 'string' },
      'per-query': { type: 'string' },
    },
  });
  const bench = path.resolve(values.bench);
  // The bench's metrics are an ES module outside this project, loaded at run time as it is.
  const metricsUrl = pathToFileURL(path.join(bench, 'metrics.mjs')).href;
  const metrics = (await import(metricsUrl)) as MetricsModule;
  const sets = values.data?.length ? values.data : ['issues', 'questions'];
  const variants: Record<string, SearchOptions> = values.variants ? JSON.parse(fs.readFileSync(values.variants, 'utf8')) : { default: {} };
  const perQuery = values['per-query'] ? fs.createWriteStream(values['per-query']) : undefined;

  for (const set of sets) {
    const records: BenchRecord[] = fs
      .readFileSync(path.join(bench, 'data', `${set}.jsonl`), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as BenchRecord)
      .filter((r) => !values.repo || r.repo === values.repo);
    const bySnapshot = new Map<string, BenchRecord[]>();
    for (const r of records) {
      const key = `${r.repo}@${r.commit}`;
      bySnapshot.set(key, [...(bySnapshot.get(key) ?? []), r]);
    }
    const rows = new Map<string, Array<{ rec: BenchRecord; metrics: Metrics }>>(Object.keys(variants).map((v) => [v, []]));
    let ms = 0;
    let queries = 0;
    for (const [key, recs] of bySnapshot) {
      const ws = path.join(values.snapshots, key);
      if (!fs.existsSync(ws)) throw new Error(`snapshot missing: ${ws} (run the bench's materialize.sh)`);
      const indexDir = path.join(values.cache, hash16(key));
      const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir });
      try {
        await index.update();
        for (const [name, opts] of Object.entries(variants)) {
          for (const rec of recs) {
            const t0 = performance.now();
            const hits = await search(index, rec.query, { k: 10, mode: 'lexical', ...opts });
            ms += performance.now() - t0;
            queries++;
            const m = metrics.scoreQuery(rec, hits);
            rows.get(name)!.push({ rec, metrics: m });
            perQuery?.write(
              `${JSON.stringify({ variant: name, id: rec.id, repo: rec.repo, gold: rec.gold_files, top: hits.map((h) => `${h.path}:${h.startLine}-${h.endLine}`), mrr: m.mrr })}\n`,
            );
          }
        }
      } finally {
        await index.close();
      }
    }
    console.log(`\n${set}: ${records.length} queries on ${bySnapshot.size} snapshots; mean query ${(ms / Math.max(1, queries)).toFixed(1)} ms`);
    const f = (x: number | undefined) => (x === undefined ? '  -  ' : x.toFixed(3));
    for (const [name, list] of rows) {
      const a = metrics.aggregate(list);
      const groups = new Map<string, Array<{ metrics: Metrics }>>();
      for (const r of list) {
        const g = set === 'questions' ? (r.rec.kind ?? '?') : r.rec.language;
        groups.set(g, [...(groups.get(g) ?? []), r]);
      }
      const per = [...groups]
        .sort()
        .map(([g, l]) => `${g} ${f(metrics.aggregate(l).mrr)}`)
        .join(' ');
      console.log(
        `${name.padEnd(28)} R@1 ${f(a['recall@1'])} R@5 ${f(a['recall@5'])} R@10 ${f(a['recall@10'])} MRR ${f(a.mrr)} rr@10 ${f(a['range_recall@10'])} lines ${(a['lines@10'] ?? 0).toFixed(0)} | MRR ${per}`,
      );
    }
  }
  perQuery?.end();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
