/**
 * Fault-injection suite (issue 8). Every trial injects one fault, then checks the promises of
 * docs/reliability.md: no crash (a clean exit code and message, never "unexpected error"), no hang
 * (every child process is bounded by mocha's timeout; nothing here measures time), nothing outside
 * the workspace indexed, nothing of the user's deleted, and search results equal to a fresh index's.
 * The figures (faults injected / survived per family) are printed at the end of the run.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { repoRoot } from '../repoRoot';
import { search } from '../../src/core/retrieval';
import { HashingTestEmbedder } from '../../src/core/testEmbedder';
import { rootsFromDirs, WorkspaceIndex } from '../../src/core/workspaceIndex';
import { seededRandom } from '../../src/core/random.mjs';
import { startOpenAIStandIn, type ChatScript, type EmbeddingScript } from '../openaiStandIn';
import { errMessage } from '../../src/core/errMessage';

const CLI = path.join(repoRoot(), 'dist/cli.js');
const FIXTURE = path.join(repoRoot(), 'test/fixtures/workspace');
const QUERIES = [
  'token bucket rate limit',
  'how are session tokens signed and verified?',
  'persist todos to a JSON file',
  'password hashing scrypt salt',
  'parse command line arguments',
];
const OUTSIDE_MARKER = 'OUTSIDE_WORKSPACE_MARKER_QZX';

/** Faults injected and survived, per family; printed after the suite. */
const figures = new Map<string, { injected: number; survived: number; failures: string[] }>();
function tally(family: string, ok: boolean, what: string): void {
  const f = figures.get(family) ?? { injected: 0, survived: 0, failures: [] };
  f.injected++;
  if (ok) f.survived++;
  else f.failures.push(what);
  figures.set(family, f);
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, CI: 'true', GROUNDWORK_OFFLINE: '1', GROUNDWORK_CONFIG: '/nonexistent/groundwork.json', ...extra };
}

function cli(args: string[], extra: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: env(extra), timeout: 120_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function cliAsync(args: string[], extra: Record<string, string> = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: env(extra) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

/** A clean end: exit 0, or 1 with a one-line reason (never a stack trace or "unexpected error"). */
function clean(r: Run, allowed: number[] = [0]): boolean {
  return r.code !== null && allowed.includes(r.code) && !/unexpected error|\n\s+at \S+ \(/.test(r.stderr);
}

/** What a search returns, independent of the order of exact ties. */
type Fingerprint = string;
function fingerprintOf(hits: Array<{ path: string; startLine: number; endLine: number; score: number }>): Fingerprint {
  if (!hits.length) return '[]';
  const last = Math.min(...hits.map((h) => h.score));
  // Hits tied with the last one may be cut differently; compare those by score only.
  const above = hits
    .filter((h) => h.score > last + 1e-9)
    .map((h) => `${h.path}:${h.startLine}-${h.endLine}@${h.score.toFixed(5)}`)
    .sort();
  return JSON.stringify({ above, scores: hits.map((h) => h.score.toFixed(5)) });
}

function cliFingerprint(ws: string, indexDir: string, extra: string[] = []): Fingerprint[] {
  return QUERIES.map((q) => {
    const r = cli(['search', q, '--workspace', ws, '--index-dir', indexDir, '--no-update', '--json', ...extra]);
    if (r.code !== 0) return `exit ${r.code}: ${r.stderr.split('\n')[0]}`;
    return fingerprintOf((JSON.parse(r.stdout) as { hits: Array<{ path: string; startLine: number; endLine: number; score: number }> }).hits);
  });
}

async function indexFingerprint(index: WorkspaceIndex): Promise<Fingerprint[]> {
  const out: Fingerprint[] = [];
  for (const q of QUERIES) out.push(fingerprintOf(await search(index, q)));
  return out;
}

function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map(String)
    .filter((p) => fs.lstatSync(path.join(dir, p)).isFile())
    .sort();
}

/** A workspace big enough that kill -9 lands in every phase: the fixture plus generated modules. */
function makeWorkspace(dir: string, extraFiles = 150): void {
  fs.cpSync(FIXTURE, dir, { recursive: true });
  const rnd = seededRandom(7);
  for (let i = 0; i < extraFiles; i++) {
    const words = Array.from({ length: 12 }, () => `w${Math.floor(rnd() * 500)}`);
    const body = Array.from({ length: 30 }, (_, j) => `export function ${words[j % 12]}_${i}_${j}(a: number): number {\n  return a * ${j} + ${i}; // ${words.join(' ')}\n}\n`).join(
      '\n',
    );
    fs.mkdirSync(path.join(dir, 'gen', `m${i % 10}`), { recursive: true });
    fs.writeFileSync(path.join(dir, 'gen', `m${i % 10}`, `mod${i}.ts`), body);
  }
}

describe('fault injection', function () {
  // Each trial runs the CLI several times; on a loaded 2-core machine a test can exceed mocha's
  // default 60 s. Every child process is still bounded (spawnSync timeout), so a hang fails.
  this.timeout(900_000);
  let tmp: string;
  let ws: string;
  let freshPrints: Fingerprint[];

  before(() => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js missing: run node scripts/build.mjs');
    tmp = fs.mkdtempSync(path.join(tmpdir(), 'gw-faults-'));
    ws = path.join(tmp, 'ws');
    makeWorkspace(ws);
    const fresh = path.join(tmp, 'fresh-index');
    assert.equal(cli(['index', '--workspace', ws, '--index-dir', fresh]).code, 0);
    freshPrints = cliFingerprint(ws, fresh);
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    let injected = 0;
    let survived = 0;
    const lines = ['', '  Fault-injection figures (family: survived / injected)'];
    for (const [family, f] of figures) {
      injected += f.injected;
      survived += f.survived;
      lines.push(`    ${family.padEnd(28)} ${String(f.survived).padStart(4)} / ${f.injected}${f.failures.length ? `   FAILED: ${f.failures.slice(0, 5).join('; ')}` : ''}`);
    }
    lines.push(`    ${'total'.padEnd(28)} ${String(survived).padStart(4)} / ${injected}`, '');
    console.log(lines.join('\n'));
  });

  it('kill -9 at random points of `index`: the next run completes and search equals a fresh index', async function () {
    // How long one full run takes here, so kill points spread over all phases (scan, chunk, write).
    const probeDir = path.join(tmp, 'probe-index');
    const t0 = Date.now();
    assert.equal(cli(['index', '--workspace', ws, '--index-dir', probeDir]).code, 0);
    const runMs = Date.now() - t0;
    const rnd = seededRandom(42);
    const TRIALS = 8;
    for (let t = 0; t < TRIALS; t++) {
      const indexDir = path.join(tmp, `kill-${t}`);
      // Some trials crash a first index, others a re-index after edits.
      if (t % 2 === 1) assert.equal(cli(['index', '--workspace', ws, '--index-dir', indexDir]).code, 0);
      const { child, done } = cliAsync(['index', '--workspace', ws, '--index-dir', indexDir]);
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * runMs)));
      child.kill('SIGKILL');
      await done;
      const again = cli(['index', '--workspace', ws, '--index-dir', indexDir]);
      const prints = cliFingerprint(ws, indexDir);
      const ok = clean(again) && JSON.stringify(prints) === JSON.stringify(freshPrints);
      tally('kill -9 during index', ok, `trial ${t}: ${again.stderr.split('\n')[0]}`);
      assert.ok(ok, `trial ${t}: exit ${again.code}\n${again.stderr}`);
    }
  });

  it('corruption of every index file kind (truncate, zero, same-size garble, wrong-shape JSON, folder): index heals, search equals fresh', async function () {
    const embedder = new HashingTestEmbedder(32);
    const base = path.join(tmp, 'corrupt-base');
    let idx = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: base, embedder });
    await idx.update();
    const expected = await indexFingerprint(idx);
    await idx.close();
    // One file of every kind in the folder.
    const kinds = new Map<string, string>();
    for (const rel of listFiles(base)) {
      const kind = rel.replace(/\d+/g, 'N');
      if (!kinds.has(kind)) kinds.set(kind, rel);
    }
    assert.ok(kinds.size >= 8, [...kinds.keys()].join(', '));
    const damages: Record<string, (file: string) => void> = {
      truncate: (f) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2)),
      zero: (f) => fs.writeFileSync(f, Buffer.alloc(fs.statSync(f).size)),
      garble: (f) => {
        const b = fs.readFileSync(f);
        const rnd = seededRandom(b.length);
        for (let i = 0; i < b.length; i++) if (rnd() < 0.3) b[i] = 0x58;
        fs.writeFileSync(f, b);
      },
      'wrong-shape JSON': (f) => fs.writeFileSync(f, JSON.stringify({ format: 'nope', files: 'x', schemaVersion: [], items: 3 })),
      folder: (f) => {
        fs.rmSync(f);
        fs.mkdirSync(f);
        fs.writeFileSync(path.join(f, 'user-file.txt'), 'x');
      },
    };
    let n = 0;
    for (const [kind, rel] of kinds) {
      for (const [how, damage] of Object.entries(damages)) {
        const dir = path.join(tmp, `corrupt-${n++}`);
        fs.cpSync(base, dir, { recursive: true });
        damage(path.join(dir, rel));
        let ok = false;
        let why = '';
        try {
          idx = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: dir, embedder });
          try {
            await idx.update();
            const prints = await indexFingerprint(idx);
            ok = JSON.stringify(prints) === JSON.stringify(expected);
            if (!ok) why = 'results differ';
          } finally {
            await idx.close();
          }
        } catch (err) {
          why = errMessage(err);
        }
        tally('index file corruption', ok, `${how} ${kind}: ${why}`);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    const f = figures.get('index file corruption')!;
    assert.deepEqual(f.failures, []);
  });

  it('one writer with parallel readers, and two writers at once', async function () {
    const indexDir = path.join(tmp, 'concurrency');
    assert.equal(cli(['index', '--workspace', ws, '--index-dir', indexDir]).code, 0);
    // Edits so the writer has work while readers run.
    for (let i = 0; i < 40; i++) fs.appendFileSync(path.join(ws, 'gen', `m${i % 10}`, `mod${i}.ts`), `\n// edit ${i}\n`);
    const writer = cliAsync(['index', '--workspace', ws, '--index-dir', indexDir]);
    const readers = Array.from({ length: 8 }, (_, i) => cliAsync(['search', QUERIES[i % QUERIES.length]!, '--workspace', ws, '--index-dir', indexDir, '--no-update', '--json']));
    const statsReader = cliAsync(['stats', '--workspace', ws, '--index-dir', indexDir]);
    for (const [i, r] of (await Promise.all(readers.map((x) => x.done))).entries()) {
      const ok = clean(r) && (JSON.parse(r.stdout || '{"hits":[]}') as { hits: unknown[] }).hits.length > 0;
      tally('readers beside a writer', ok, `reader ${i}: ${r.stderr.split('\n')[0]}`);
    }
    const st = await statsReader.done;
    tally('readers beside a writer', clean(st), `stats: ${st.stderr.split('\n')[0]}`);
    const w = await writer.done;
    tally('readers beside a writer', clean(w), `writer: ${w.stderr.split('\n')[0]}`);

    for (let i = 0; i < 40; i++) fs.appendFileSync(path.join(ws, 'gen', `m${i % 10}`, `mod${i}.ts`), `\n// second edit ${i}\n`);
    const [a, b] = await Promise.all([cliAsync(['index', '--workspace', ws, '--index-dir', indexDir]).done, cliAsync(['index', '--workspace', ws, '--index-dir', indexDir]).done]);
    // One of them may be refused (the lock names the holder); neither may crash.
    const twoOk = clean(a, [0, 1]) && clean(b, [0, 1]) && (a.code === 0 || b.code === 0);
    tally('two writers', twoOk, `${a.code}/${b.code}: ${a.stderr.split('\n')[0]} | ${b.stderr.split('\n')[0]}`);
    assert.equal(cli(['index', '--workspace', ws, '--index-dir', indexDir]).code, 0);
    const fresh = path.join(tmp, 'concurrency-fresh');
    assert.equal(cli(['index', '--workspace', ws, '--index-dir', fresh]).code, 0);
    const same = JSON.stringify(cliFingerprint(ws, indexDir)) === JSON.stringify(cliFingerprint(ws, fresh));
    tally('two writers', same, 'results differ from a fresh index afterwards');
    const failures = [...(figures.get('readers beside a writer')?.failures ?? []), ...(figures.get('two writers')?.failures ?? [])];
    assert.deepEqual(failures, []);
  });

  it('hostile workspaces: symlink swaps, FIFOs, sockets, newline and escape-code names, permission flips', async function () {
    const outside = path.join(tmp, 'outside');
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(outside, 'secret.ts'), `export const leak = "${OUTSIDE_MARKER}";\n`);
    const hostile = path.join(tmp, 'hostile');
    fs.cpSync(FIXTURE, hostile, { recursive: true });
    const servers: net.Server[] = [];
    const faults: Array<[string, () => Promise<void> | void]> = [
      ['symlink to an outside file', () => fs.symlinkSync(path.join(outside, 'secret.ts'), path.join(hostile, 'src', 'link.ts'))],
      ['symlink to an outside folder', () => fs.symlinkSync(outside, path.join(hostile, 'outdir'))],
      ['symlink to /etc', () => fs.symlinkSync('/etc', path.join(hostile, 'etc'))],
      ['FIFO as a source file', () => execFileSync('mkfifo', [path.join(hostile, 'src', 'fifo.ts')])],
      ['FIFO as .groundworkignore', () => execFileSync('mkfifo', [path.join(hostile, 'src', '.groundworkignore')])],
      [
        'unix socket',
        () =>
          new Promise<void>((r) => {
            const s = net.createServer();
            servers.push(s);
            s.listen(path.join(hostile, 'src', 'sock.ts'), () => r());
          }),
      ],
      ['newline in a file name', () => fs.writeFileSync(path.join(hostile, 'src', 'a\nb.ts'), 'export const nl = 1;\n')],
      ['escape codes in a name', () => fs.writeFileSync(path.join(hostile, 'src', '\x1b[2Jx.ts'), 'export const esc = 1;\n')],
      ['escape codes in content', () => fs.writeFileSync(path.join(hostile, 'src', 'esc.ts'), 'export const e = "\x1b]0;owned\x07";\n')],
      ['unreadable file', () => fs.chmodSync(path.join(hostile, 'src', 'auth', 'session.ts'), 0o000)],
      ['unreadable folder', () => fs.chmodSync(path.join(hostile, 'src', 'store'), 0o000)],
    ];
    const indexDir = path.join(tmp, 'hostile-index');
    for (const [name, inject] of faults) {
      await inject();
      // Asynchronously, so the socket's server in this process keeps running.
      const r = await cliAsync(['index', '--workspace', hostile, '--index-dir', indexDir]).done;
      const s = await cliAsync(['search', 'leak token session', '--workspace', hostile, '--index-dir', indexDir, '--no-update', '--k', '50']).done;
      const leaked = s.stdout.includes(OUTSIDE_MARKER) || /root:x:0/.test(s.stdout);
      const rawEscape = /\x1b/.test(s.stdout + r.stderr);
      const ok = clean(r) && clean(s) && !leaked && !rawEscape;
      tally('hostile workspace', ok, `${name}: exit ${r.code}/${s.code}${leaked ? ' leaked' : ''}${rawEscape ? ' raw escape' : ''} ${r.stderr.split('\n')[0]}`);
    }
    // A symbolic link swapped in while indexing runs, many times.
    const swapTarget = path.join(hostile, 'src', 'swap.ts');
    for (let t = 0; t < 6; t++) {
      fs.rmSync(swapTarget, { force: true });
      fs.writeFileSync(swapTarget, `export const swap${t} = ${t};\n`);
      const { child, done } = cliAsync(['index', '--workspace', hostile, '--index-dir', indexDir]);
      child.stderr!.once('data', () => {
        fs.rmSync(swapTarget, { force: true });
        fs.symlinkSync(path.join(outside, 'secret.ts'), swapTarget);
      });
      const r = await done;
      const s = cli(['search', 'leak', '--workspace', hostile, '--index-dir', indexDir, '--no-update', '--k', '50']);
      const ok = clean(r) && !s.stdout.includes(OUTSIDE_MARKER);
      tally('hostile workspace', ok, `symlink swap ${t}: exit ${r.code}`);
    }
    for (const s of servers) s.close();
    const f = figures.get('hostile workspace')!;
    assert.deepEqual(f.failures, []);
  });

  it('disk full: a size-limited tmpfs (or an injected ENOSPC) never corrupts the index or deletes anything', async function () {
    // Injected ENOSPC in this process, at the k-th write of an update, for many k.
    const dir = path.join(tmp, 'enospc');
    const original = fs.promises.open;
    const TRIALS = 12;
    let expected: Fingerprint[] | undefined;
    {
      const ref = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(tmp, 'enospc-ref') });
      await ref.update();
      expected = await indexFingerprint(ref);
      await ref.close();
    }
    for (let k = 1; k <= TRIALS; k++) {
      fs.rmSync(dir, { recursive: true, force: true });
      let writes = 0;
      const failAt = k * 3;
      (fs.promises as { open: typeof original }).open = async (p: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
        if (typeof flags === 'string' && flags.startsWith('w') && ++writes >= failAt) {
          throw Object.assign(new Error(`ENOSPC: no space left on device, open '${String(p)}'`), { code: 'ENOSPC', path: String(p) });
        }
        return original(p, flags, mode);
      };
      let threw = '';
      try {
        const idx = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: dir });
        try {
          await idx.update();
        } finally {
          await idx.close().catch(() => undefined);
        }
      } catch (err) {
        threw = (err as NodeJS.ErrnoException).code ?? errMessage(err);
      } finally {
        (fs.promises as { open: typeof original }).open = original;
      }
      // Space again: the next run completes and equals a fresh index.
      let ok = threw === '' || threw === 'ENOSPC';
      try {
        const idx = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: dir });
        await idx.update();
        ok &&= JSON.stringify(await indexFingerprint(idx)) === JSON.stringify(expected);
        await idx.close();
      } catch (err) {
        ok = false;
        threw += ` then ${errMessage(err)}`;
      }
      tally('disk full (injected ENOSPC)', ok, `write ${failAt}: ${threw}`);
    }
    // A real full disk through the CLI when this machine lets us mount a small tmpfs.
    const mnt = path.join(tmp, 'tmpfs');
    fs.mkdirSync(mnt);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status === 0;
    if (mounted) {
      try {
        const userFile = path.join(mnt, 'keep.txt');
        const indexDir = path.join(mnt, 'index');
        fs.writeFileSync(userFile, 'mine');
        const r = cli(['index', '--workspace', ws, '--index-dir', indexDir]);
        const readable = cli(['search', 'token bucket', '--workspace', ws, '--index-dir', indexDir, '--no-update']);
        const ok = clean(r, [0, 1]) && (r.code === 0 || /disk is full/.test(r.stderr)) && fs.readFileSync(userFile, 'utf8') === 'mine' && clean(readable, [0, 1]);
        tally('disk full (tmpfs)', ok, `index exit ${r.code}: ${r.stderr.split('\n').slice(-2).join(' ')} / search exit ${readable.code}: ${readable.stderr.split('\n')[0]}`);
      } finally {
        spawnSync('umount', [mnt]);
      }
    }
    const failures = [...(figures.get('disk full (injected ENOSPC)')?.failures ?? []), ...(figures.get('disk full (tmpfs)')?.failures ?? [])];
    assert.deepEqual(failures, []);
  });

  it('a stand-in model and embedding server with every fault: ask exits 1 with quoted code, index and search keep working', async function () {
    const server = await startOpenAIStandIn({ defaultDimensions: 16 });
    const raw = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const kind = req.url?.includes('html') ? 'html' : 'json';
        res.writeHead(200, { 'content-type': kind === 'html' ? 'text/html' : 'application/json' });
        res.end(kind === 'html' ? '<html>login</html>' : '{"choices":[{"message":{"content":"x"}}]}');
      });
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const rawUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
    const cfgFile = path.join(tmp, 'config.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ llm: { timeoutMs: 1500 } }));
    const indexDir = path.join(tmp, 'model-faults');
    const extra = { GROUNDWORK_CONFIG: cfgFile, OPENAI_API_KEY: 'test-key' };
    try {
      assert.equal(cli(['index', '--workspace', ws, '--index-dir', indexDir]).code, 0);
      const chatFaults: Array<[string, ChatScript[] | string]> = [
        ['401', [{ type: 'error', status: 401 }]],
        ['403', [{ type: 'error', status: 403 }]],
        ['404', [{ type: 'error', status: 404 }]],
        ['429', Array.from({ length: 5 }, () => ({ type: 'error' as const, status: 429, headers: { 'retry-after': '0' } }))],
        ['500', Array.from({ length: 5 }, () => ({ type: 'error' as const, status: 500 }))],
        ['connection reset', Array.from({ length: 5 }, () => ({ type: 'reset' as const }))],
        ['hang (timeout)', Array.from({ length: 5 }, () => ({ type: 'hang' as const }))],
        ['stream cut', [{ type: 'stream', tokens: ['The answer [1] is'], end: 'destroy' }]],
        ['no finish reason', [{ type: 'stream', tokens: ['Partial [1]'], end: 'no-finish' }]],
        ['error event mid-stream', [{ type: 'stream', tokens: ['Starting [1]'], end: 'error-event' }]],
        ['empty stream', [{ type: 'stream', tokens: [] }]],
        ['non-streamed JSON 200', `${rawUrl}/json/v1`],
        ['HTML page 200', `${rawUrl}/html/v1`],
        ['unreachable', 'http://127.0.0.1:9/v1'],
      ];
      for (const [name, script] of chatFaults) {
        server.chat.length = 0;
        let baseUrl = server.baseURL;
        if (typeof script === 'string') baseUrl = script;
        else server.chat.push(...script);
        const r = await cliAsync(
          ['ask', 'how are session tokens signed?', '--workspace', ws, '--index-dir', indexDir, '--no-update', '--base-url', baseUrl, '--model', 'm', '--json'],
          extra,
        ).done;
        let ok = clean(r, [1]);
        if (ok) {
          const result = JSON.parse(r.stdout) as { citations: unknown[]; answer: string };
          ok = result.citations.length > 0 && result.answer.length > 0;
        }
        tally('model faults (ask)', ok, `${name}: exit ${r.code} ${r.stderr.split('\n').slice(-2).join(' ')}`);
      }
      server.chat.length = 0;

      const embedArgs = ['--workspace', ws, '--embedder', 'openai', '--embed-model', 'e'];
      const embedEnv = { ...extra, OPENAI_BASE_URL: server.baseURL };
      const embedFaults: Array<[string, EmbeddingScript[]]> = [
        ['413', [{ type: 'error', status: 413 }]],
        ['500 after the probe', Array.from({ length: 8 }, () => ({ type: 'error' as const, status: 500 }))],
        ['connection reset', Array.from({ length: 8 }, () => ({ type: 'reset' as const }))],
        ['NaN in a vector', [{ type: 'vectors', format: 'nan' }]],
        ['wrong dimensions', [{ type: 'vectors', dimensions: 7 }]],
        ['fewer vectors than inputs', [{ type: 'vectors', dropLast: true }]],
      ];
      const vIndex = path.join(tmp, 'embed-faults');
      const first = await cliAsync(['index', ...embedArgs, '--index-dir', vIndex], embedEnv).done;
      assert.equal(first.code, 0, first.stderr);
      for (const [t, [name, script]] of embedFaults.entries()) {
        fs.appendFileSync(path.join(ws, 'gen', 'm1', `mod${t}.ts`), `\n// embed fault ${t}\n`);
        server.embeddings.length = 0;
        // The first request is the dimension probe; the faults follow.
        server.embeddings.push({ type: 'vectors' }, ...script);
        const r = await cliAsync(['index', ...embedArgs, '--index-dir', vIndex], embedEnv).done;
        server.embeddings.length = 0;
        server.embeddings.push({ type: 'vectors' }, ...script);
        const s = await cliAsync(['search', 'token bucket', ...embedArgs, '--index-dir', vIndex, '--no-update', '--json'], embedEnv).done;
        const hits = s.code === 0 ? (JSON.parse(s.stdout) as { hits: Array<{ path: string }> }).hits : [];
        // A wrong dimension is a configuration error: exit 1 with its reason is the right answer.
        const ok = clean(r, name === 'wrong dimensions' ? [0, 1] : [0]) && clean(s) && hits.some((h) => h.path === 'src/http/rateLimit.ts');
        tally('embedding faults (index+search)', ok, `${name}: exit ${r.code}/${s.code} ${r.stderr.split('\n').slice(-2).join(' ')} ${s.stderr.split('\n')[0]}`);
      }
      // A transient outage during a search keeps every stored vector.
      server.embeddings.length = 0;
      const before = await cliAsync(['stats', ...embedArgs, '--index-dir', vIndex, '--json'], embedEnv).done;
      const down = cli(['search', 'token bucket', ...embedArgs, '--index-dir', vIndex, '--no-update'], { ...embedEnv, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
      const afterStats = await cliAsync(['stats', ...embedArgs, '--index-dir', vIndex, '--json'], embedEnv).done;
      const count = (r: Run) => (r.code === 0 ? (JSON.parse(r.stdout) as { vectors: { count: number } }).vectors.count : -1);
      const kept = clean(down) && count(before) > 0 && count(afterStats) === count(before);
      tally('embedding faults (index+search)', kept, `outage during search: vectors ${count(before)} → ${count(afterStats)}, exit ${down.code} ${down.stderr.split('\n')[0]}`);
    } finally {
      await server.close();
      await new Promise<void>((r) => raw.close(() => r()));
    }
    const failures = [...(figures.get('model faults (ask)')?.failures ?? []), ...(figures.get('embedding faults (index+search)')?.failures ?? [])];
    assert.deepEqual(failures, []);
  });
});
