/**
 * Regression tests of issue 8 ("a trustworthy index and CLI"): one test (or more) per defect, each
 * written against the public API or the built CLI so that it fails on the code before the fix.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { repoRoot } from '../repoRoot';
import { search } from '../../src/core/retrieval';
import type { Logger } from '../../src/core/types';
import { rootsFromDirs, WorkspaceIndex, type OpenOptions } from '../../src/core/workspaceIndex';
import { answerQuestion, localRetriever } from '../../src/core/answer';
import type { LlmProvider } from '../../src/core/llm';
import { startOpenAIStandIn } from '../openaiStandIn';

const CLI = path.join(repoRoot(), 'dist/cli.js');
const FIXTURE = path.join(repoRoot(), 'test/fixtures/workspace');
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`), error: (m) => lines.push(`error: ${m}`) };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string> = {}, opts: { uid?: number } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', GROUNDWORK_OFFLINE: '1', ...env },
    timeout: 120_000,
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like runCli, but leaves this process's event loop free (for servers running in it). */
function runCliAsync(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, CI: 'true', GROUNDWORK_OFFLINE: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function allChunkText(index: WorkspaceIndex): string {
  return index
    .indexedPaths()
    .flatMap((p) => index.getFile(p)!.chunks.map((c) => c.text))
    .join('\n');
}

describe('issue 8 regressions', function () {
  let tmp: string;
  let ws: string;
  let indexDir: string;
  let outside: string;
  let opened: WorkspaceIndex[] = [];

  async function open(extra: Partial<OpenOptions> = {}): Promise<WorkspaceIndex> {
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir, ...extra });
    opened.push(index);
    return index;
  }

  before(() => assert.ok(fs.existsSync(CLI), 'dist/cli.js missing: run node scripts/build.mjs'));
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(tmpdir(), 'gw-h8-'));
    ws = path.join(tmp, 'ws');
    indexDir = path.join(tmp, 'index');
    outside = path.join(tmp, 'outside');
    fs.cpSync(FIXTURE, ws, { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'passwd.ts'), 'export const OUTSIDE_MARKER_ZQX = "root:x:0:0";\n');
  });
  afterEach(async () => {
    for (const i of opened) await i.close().catch(() => undefined);
    opened = [];
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('(1) nothing from outside the workspace', () => {
    it('updateFiles refuses a symbolic link to a file outside the workspace', async () => {
      const index = await open();
      await index.update();
      const link = path.join(ws, 'notes.ts');
      fs.symlinkSync(path.join(outside, 'passwd.ts'), link);
      await index.updateFiles([link]);
      assert.equal(index.getFile('notes.ts'), undefined);
      assert.doesNotMatch(allChunkText(index), /OUTSIDE_MARKER_ZQX/);
    });

    it('updateFiles refuses files reached through a symbolic link to an outside folder', async () => {
      const index = await open();
      await index.update();
      fs.symlinkSync(outside, path.join(ws, 'etcdir'));
      await index.updateFiles([path.join(ws, 'etcdir', 'passwd.ts'), path.join(ws, 'etcdir')]);
      assert.equal(index.getFile('etcdir/passwd.ts'), undefined);
      assert.doesNotMatch(allChunkText(index), /OUTSIDE_MARKER_ZQX/);
    });

    it('a file swapped for an outside symbolic link between the scan and the read is not read', async () => {
      const index = await open();
      const victim = path.join(ws, 'src', 'swapped.ts');
      fs.writeFileSync(victim, 'export const harmless = 1;\n');
      let swapped = false;
      await index.update({
        onProgress: (p) => {
          // The scan is over, no file has been read yet: swap it now.
          if (p.phase === 'chunk' && !swapped) {
            swapped = true;
            fs.unlinkSync(victim);
            fs.symlinkSync(path.join(outside, 'passwd.ts'), victim);
          }
        },
      });
      assert.ok(swapped);
      assert.doesNotMatch(allChunkText(index), /OUTSIDE_MARKER_ZQX/);
    });

    it('(2) refuses an index folder inside the real workspace when the workspace is reached through a symbolic link', async () => {
      const link = path.join(tmp, 'ws-link');
      fs.symlinkSync(ws, link);
      await assert.rejects(WorkspaceIndex.open({ roots: rootsFromDirs([link]), indexDir: path.join(ws, '.gw-index') }), /outside the workspace/);
      assert.equal(fs.existsSync(path.join(ws, '.gw-index')), false);
    });
  });

  describe('(3) secrets', () => {
    const PEM = [
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
      'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK',
      '-----END RSA PRIVATE KEY-----',
    ].join('\n');
    const files: Record<string, string> = {
      '.git-credentials': 'https://user:ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com\n',
      '.pgpass': 'localhost:5432:db:user:pgpass-secret-zqx\n',
      kubeconfig: 'apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: kube-secret-zqx\n',
      '.docker/config.json': '{"auths": {"registry.example.com": {"auth": "ZG9ja2VyLXNlY3JldC16cXg="}}}\n',
      '.envrc': 'export API_TOKEN=envrc-secret-zqx\n',
      'infra/prod.tfvars': 'db_password = "tfvars-secret-zqx"\n',
      '.aws/config': '[default]\naws_secret_access_key = aws-config-secret-zqx\n',
      '.bash_history': 'mysql -u root -phistory-secret-zqx\n',
      'token.json': '{"access_token": "token-json-secret-zqx"}\n',
      'vault.yml': 'vault_password: vault-secret-zqx\n',
      'notes/key.txt': `my key\n${PEM}\n`,
      'src/awsClient.ts': 'export const accessKeyId = "AKIAZ3MSJV4WWNKWW5FG"; // inline-aws-zqx\n',
      'src/github.ts': 'export const token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"; // inline-gh-zqx\n',
      'src/openai.ts': 'export const key = "sk-proj-Xy7Qw2Er5Ty8Ui1Op4As6Df9Gh3Jk0LzXcVbNm"; // inline-openai-zqx\n',
      'src/tls.ts': `export const pem = \`${PEM}\`; // inline-pem-zqx\n`,
      'src/sa.json': `{"type": "service_account", "private_key": "${PEM.split('\n').join('\\n')}", "marker": "gcp-sa-zqx"}\n`,
    };
    const ordinary: Record<string, string> = {
      'src/credentials.ts': 'export function loadCredentialsOrdinaryZqx() { return null; }\n',
      'src/credentials/store.ts': 'export function credentialStoreOrdinaryZqx() { return 1; }\n',
      'keys/id_rsa.pub': 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 publickey-ordinary-zqx\n',
    };

    it('never indexes credential files or files with inline credentials, and still indexes ordinary files named like them', async () => {
      for (const [rel, text] of Object.entries({ ...files, ...ordinary })) {
        fs.mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
        fs.writeFileSync(path.join(ws, rel), text);
      }
      const index = await open();
      const summary = await index.update();
      const text = allChunkText(index);
      for (const rel of Object.keys(files)) assert.equal(index.getFile(rel), undefined, `${rel} was indexed`);
      assert.doesNotMatch(text, /secret-zqx|inline-[a-z]+-zqx|gcp-sa-zqx|PRIVATE KEY/);
      for (const rel of Object.keys(ordinary)) assert.ok(index.getFile(rel), `${rel} was not indexed`);
      const st = await index.status();
      assert.ok((summary.skipped.secret ?? 0) >= 10, JSON.stringify(summary.skipped));
      assert.ok(((st.skipped as Record<string, number>)['secret-content'] ?? 0) >= 5, JSON.stringify(st.skipped));
    });
  });

  describe('(4) credentials in a base URL', () => {
    it('never prints the password of a base URL and fails cleanly', () => {
      const r = runCli(['ask', 'how are sessions verified?', '--workspace', ws, '--index-dir', indexDir, '--base-url', 'http://admin:HUNTER2@127.0.0.1:9/v1', '--model', 'm']);
      assert.doesNotMatch(r.stdout + r.stderr, /HUNTER2/);
      assert.doesNotMatch(r.stderr, /unexpected error/);
      assert.equal(r.code, 1, r.stderr);
    });

    it('sends a query string of the base URL as a query, keeps the request path, and never shows its values', async () => {
      const server = await startOpenAIStandIn();
      try {
        server.chat.push({ type: 'error', status: 500, message: 'boom' });
        const base = `${server.baseURL}?api-key=QUERYSECRET123&api-version=2024-01-01`;
        const r = await runCliAsync(['ask', 'how are sessions verified?', '--workspace', ws, '--index-dir', indexDir, '--base-url', base, '--model', 'm', '--json']);
        const chatRequests = server.requests.filter((q) => q.path.endsWith('/chat/completions'));
        assert.ok(chatRequests.length >= 1, `no request reached /chat/completions: ${server.requests.map((q) => q.path).join(', ')}`);
        assert.equal(chatRequests[0]!.query.get('api-key'), 'QUERYSECRET123');
        assert.doesNotMatch(r.stdout + r.stderr, /QUERYSECRET123/);
      } finally {
        await server.close();
      }
    });
  });

  describe('(5) never deletes what is not an index', () => {
    it('refuses an ordinary folder as --index-dir and leaves its files alone', () => {
      const mine = path.join(tmp, 'mine');
      fs.mkdirSync(path.join(mine, 'catalog'), { recursive: true });
      fs.mkdirSync(path.join(mine, 'vectors'), { recursive: true });
      fs.writeFileSync(path.join(mine, 'catalog', 'important.txt'), 'keep me');
      fs.writeFileSync(path.join(mine, 'vectors', 'data.csv'), '1,2,3');
      fs.writeFileSync(path.join(mine, 'lexical.bin'), 'my own file');
      const r = runCli(['index', '--workspace', ws, '--index-dir', mine]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /not a Groundwork index folder/);
      assert.equal(fs.readFileSync(path.join(mine, 'catalog', 'important.txt'), 'utf8'), 'keep me');
      assert.equal(fs.readFileSync(path.join(mine, 'vectors', 'data.csv'), 'utf8'), '1,2,3');
      assert.equal(fs.readFileSync(path.join(mine, 'lexical.bin'), 'utf8'), 'my own file');
    });
  });

  describe('(6) FIFOs and other non-regular files', () => {
    it('a FIFO named .gitignore and a FIFO source file never block indexing', async () => {
      fs.rmSync(path.join(ws, '.gitignore'), { force: true });
      execFileSync('mkfifo', [path.join(ws, '.gitignore'), path.join(ws, 'src', 'pipe.ts')]);
      const index = await open();
      const summary = await index.update();
      assert.ok(summary.filesIndexed >= 9);
      assert.equal(index.getFile('src/pipe.ts'), undefined);
    });

    it('a file swapped for a FIFO between the scan and the read is skipped, not waited on', async () => {
      const victim = path.join(ws, 'src', 'later-fifo.ts');
      fs.writeFileSync(victim, 'export const x = 1;\n');
      const index = await open();
      let swapped = false;
      await index.update({
        onProgress: (p) => {
          if (p.phase === 'chunk' && !swapped) {
            swapped = true;
            fs.unlinkSync(victim);
            execFileSync('mkfifo', [victim]);
          }
        },
      });
      assert.ok(swapped);
      assert.equal(index.getFile('src/later-fifo.ts'), undefined);
    });

    it('ask does not hang when a cited file became a FIFO', async () => {
      const index = await open();
      await index.update();
      const target = path.join(ws, 'src', 'auth', 'session.ts');
      fs.unlinkSync(target);
      execFileSync('mkfifo', [target]);
      const r = await answerQuestion(localRetriever(index), 'how are session tokens signed and verified?');
      assert.ok(r.citations.length > 0);
      assert.ok(r.citations.filter((c) => c.path === 'src/auth/session.ts').every((c) => c.status !== 'verified'));
    });
  });

  describe('(7) readers next to a writer', () => {
    it('search --no-update and stats work while another process holds the writer lock', async () => {
      assert.equal(runCli(['index', '--workspace', ws, '--index-dir', indexDir]).code, 0);
      const writer = await open(); // holds the lock, as a running `groundwork index` would
      const s = runCli(['search', 'token bucket', '--workspace', ws, '--index-dir', indexDir, '--no-update']);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /rateLimit\.ts/);
      const st = runCli(['stats', '--workspace', ws, '--index-dir', indexDir]);
      assert.equal(st.code, 0, st.stderr);
      const full = runCli(['search', 'token bucket', '--workspace', ws, '--index-dir', indexDir]);
      assert.equal(full.code, 0, full.stderr);
      assert.match(full.stdout, /rateLimit\.ts/);
      // The CLI tells the lock apart by its type: search falls back to reading, index refuses.
      assert.match(full.stderr, /another process is updating it/);
      const second = runCli(['index', '--workspace', ws, '--index-dir', indexDir]);
      assert.equal(second.code, 1, second.stderr);
      assert.match(second.stderr, /^groundwork: index is locked \(.*index\.lock\): held by pid \d+/m);
      assert.ok(writer.fileCount > 0);
    });

    it('search works on an index folder the user cannot write', function () {
      fs.chmodSync(tmp, 0o755);
      assert.equal(runCli(['index', '--workspace', ws, '--index-dir', indexDir]).code, 0);
      // As root, permissions do not stop writes: run the reader as an unprivileged user instead.
      if (isRoot) execFileSync('chmod', ['-R', 'a+rX', tmp]);
      else execFileSync('chmod', ['-R', 'a-w', indexDir]);
      try {
        const s = runCli(['search', 'token bucket', '--workspace', ws, '--index-dir', indexDir, '--no-update'], { HOME: tmp }, isRoot ? { uid: NOBODY } : {});
        assert.equal(s.code, 0, s.stderr);
        assert.match(s.stdout, /rateLimit\.ts/);
      } finally {
        execFileSync('chmod', ['-R', 'u+w', indexDir]);
      }
    });
  });

  it('(8) a file name with a newline does not break the lexical snapshot', async () => {
    fs.writeFileSync(path.join(ws, 'src', 'bad\nname.ts'), 'export const newlineNamed = 1;\n');
    let index = await open();
    await index.update();
    await index.close();
    const logger = recordingLogger();
    index = await open({ logger });
    assert.equal(logger.lines.filter((l) => /lexical/i.test(l)).length, 0, logger.lines.join('\n'));
    const hits = await search(index, 'token bucket');
    assert.equal(hits[0]?.path, 'src/http/rateLimit.ts');
  });

  it('(9) same-size garbling of a catalog text file is detected and rebuilt', async () => {
    let index = await open();
    await index.update();
    await index.close();
    const dir = path.join(indexDir, 'catalog');
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.txt'))) {
      const size = fs.statSync(path.join(dir, f)).size;
      fs.writeFileSync(path.join(dir, f), 'X'.repeat(size));
    }
    index = await open();
    await index.update();
    const hits = await search(index, 'token bucket');
    assert.equal(hits[0]?.path, 'src/http/rateLimit.ts');
    assert.doesNotMatch(hits[0].text, /XXXX/);
  });

  it('(10) an "unreadable" skip clears once the file is readable again (size and mtime unchanged)', function () {
    const file = path.join(ws, 'src', 'locked.ts');
    fs.writeFileSync(file, 'export const lockedFileMarker = 42;\n');
    fs.chmodSync(file, 0o000);
    let uid: { uid?: number } = {};
    if (isRoot) {
      execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, tmp]);
      fs.chmodSync(tmp, 0o755);
      uid = { uid: NOBODY };
    }
    const env = { HOME: tmp };
    const first = runCli(['index', '--workspace', ws, '--index-dir', indexDir], env, uid);
    assert.equal(first.code, 0, first.stderr);
    fs.chmodSync(file, 0o644);
    const second = runCli(['index', '--workspace', ws, '--index-dir', indexDir], env, uid);
    assert.equal(second.code, 0, second.stderr);
    const s = runCli(['search', 'lockedFileMarker', '--workspace', ws, '--index-dir', indexDir, '--no-update', '--json'], env, uid);
    assert.equal((JSON.parse(s.stdout) as { hits: Array<{ path: string }> }).hits[0]?.path, 'src/locked.ts', s.stderr);
  });

  describe('(11) wrong-shape index files heal', () => {
    const cases: Array<[string, () => void]> = [
      [
        'manifest.json is JSON of the wrong shape',
        () => {
          const m = JSON.parse(fs.readFileSync(path.join(indexDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
          fs.writeFileSync(path.join(indexDir, 'manifest.json'), JSON.stringify({ ...m, roots: 3 }));
        },
      ],
      [
        'a catalog shard is JSON of the wrong shape',
        () => {
          // A shard is a JSON header line, then the files' records.
          const dir = path.join(indexDir, 'catalog');
          for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json'))) {
            const text = fs.readFileSync(path.join(dir, f), 'utf8');
            const nl = text.indexOf('\n');
            const header = JSON.parse(text.slice(0, nl)) as Record<string, unknown>;
            fs.writeFileSync(path.join(dir, f), `${JSON.stringify({ ...header, files: [{ path: 7, chunks: 'no' }] })}${text.slice(nl)}`);
          }
        },
      ],
      [
        'lexical.bin is replaced by a folder',
        () => {
          fs.rmSync(path.join(indexDir, 'lexical.bin'));
          fs.mkdirSync(path.join(indexDir, 'lexical.bin'));
        },
      ],
      ['stats.json is JSON of the wrong shape', () => fs.writeFileSync(path.join(indexDir, 'stats.json'), '{"skipped": {"secret": 3}, "samples": null, "at": 1}')],
    ];
    for (const [name, damage] of cases) {
      it(`${name}: index, search and stats still work`, () => {
        assert.equal(runCli(['index', '--workspace', ws, '--index-dir', indexDir]).code, 0);
        damage();
        const i = runCli(['index', '--workspace', ws, '--index-dir', indexDir]);
        assert.equal(i.code, 0, i.stderr);
        const s = runCli(['search', 'token bucket', '--workspace', ws, '--index-dir', indexDir, '--no-update']);
        assert.equal(s.code, 0, s.stderr);
        assert.match(s.stdout, /^ 1\. src\/http\/rateLimit\.ts/);
        const st = runCli(['stats', '--workspace', ws, '--index-dir', indexDir]);
        assert.equal(st.code, 0, st.stderr);
      });
    }
  });

  describe('(12) ask: exit codes and fallbacks', () => {
    let server: http.Server;
    let mode = 'json';
    let url = '';
    before(async () => {
      server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          if (mode === 'json') {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'not streamed' }, finish_reason: 'stop' }] }));
          } else if (mode === 'html') {
            res.writeHead(200, { 'content-type': 'text/html' });
            res.end('<html><body>Login required</body></html>');
          } else if (mode === 'empty') {
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            res.end('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n');
          } else {
            res.writeHead(500, { 'content-type': 'application/json' });
            res.end('{"error": {"message": "server exploded"}}');
          }
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    for (const m of ['500', 'json', 'html', 'empty']) {
      it(`a model answering ${m} makes ask exit 1 with a quoted-code answer`, async () => {
        mode = m;
        const r = await runCliAsync(['ask', 'how are session tokens signed?', '--workspace', ws, '--index-dir', indexDir, '--base-url', url, '--model', 'm', '--json']);
        assert.equal(r.code, 1, r.stderr);
        const result = JSON.parse(r.stdout) as { flags: { extractive: boolean }; citations: unknown[] };
        assert.equal(result.flags.extractive, true);
        assert.ok(result.citations.length > 0);
      });
    }
  });

  it('(13) an embedding endpoint failing after its probe does not fail index; vectors stay; search falls back', async () => {
    const server = await startOpenAIStandIn({ defaultDimensions: 16 });
    try {
      const args = ['--workspace', ws, '--index-dir', indexDir, '--embedder', 'openai', '--embed-model', 'e'];
      const env = { OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: 'k' };
      const ok = await runCliAsync(['index', ...args], env);
      assert.equal(ok.code, 0, ok.stderr);
      fs.writeFileSync(path.join(ws, 'src', 'extra.ts'), 'export const extraFile = 1;\n');
      // Probe succeeds, every later call fails.
      server.embeddings.push({ type: 'vectors' }, ...Array.from({ length: 20 }, () => ({ type: 'error' as const, status: 503 })));
      const r = await runCliAsync(['index', ...args], env);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /unexpected error/);
      server.embeddings.length = 0;
      server.embeddings.push({ type: 'vectors' }, { type: 'error', status: 413 });
      const s = await runCliAsync(['search', 'token bucket', ...args, '--no-update'], env);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /rateLimit\.ts/);
    } finally {
      await server.close();
    }
  });

  describe('(14) plain conditions are reported plainly', () => {
    it('--chunk-chars below the chunker minimum is a usage error', () => {
      const r = runCli(['index', '--workspace', ws, '--index-dir', indexDir, '--chunk-chars', '50']);
      assert.equal(r.code, 2, r.stderr);
      assert.doesNotMatch(r.stderr, /unexpected error/);
    });
    it('--index-dir naming a file fails with a message, not a stack', () => {
      const file = path.join(tmp, 'a-file');
      fs.writeFileSync(file, 'x');
      const r = runCli(['index', '--workspace', ws, '--index-dir', file]);
      assert.equal(r.code, 1);
      assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /);
    });
    it('an ftp: base URL fails with a message, not a stack', () => {
      const r = runCli(['ask', 'q?', '--workspace', ws, '--index-dir', indexDir, '--base-url', 'ftp://127.0.0.1/v1', '--model', 'm']);
      assert.equal(r.code, 1);
      assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /);
    });
  });

  describe('(15) smaller defects', () => {
    it('breaking a stale lock says so', async () => {
      await (await open()).close();
      opened.pop();
      fs.writeFileSync(path.join(indexDir, 'index.lock'), JSON.stringify({ pid: 999_999, hostname: hostname(), createdAt: new Date().toISOString(), token: 'x' }));
      const logger = recordingLogger();
      await open({ logger });
      assert.ok(
        logger.lines.some((l) => /stale index lock/i.test(l)),
        logger.lines.join('\n'),
      );
    });

    it('escape codes in file names and contents are not printed raw by search and stats', () => {
      fs.writeFileSync(path.join(ws, 'src', 'esc.ts'), 'export const escapeMarker = "\x1b]0;pwned\x07\x1b[2J";\n');
      fs.writeFileSync(path.join(ws, 'src', 'name\x1b[31m.ts'), 'export const escapeMarker2 = 1;\n');
      const i = runCli(['index', '--workspace', ws, '--index-dir', indexDir]);
      const s = runCli(['search', 'escapeMarker', '--workspace', ws, '--index-dir', indexDir, '--no-update']);
      const st = runCli(['stats', '--workspace', ws, '--index-dir', indexDir]);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /esc\.ts/);
      for (const out of [i.stderr, s.stdout, st.stdout]) assert.doesNotMatch(out, /\x1b/);
    });

    it('a model answer is bounded in size', async () => {
      const index = await open();
      await index.update();
      const huge: LlmProvider = {
        id: 'huge',
        label: 'huge',
        remote: false,
        async *stream() {
          for (let i = 0; i < 500; i++) yield `${'word [1] '.repeat(1000)}\n`;
        },
      };
      const r = await answerQuestion(localRetriever(index), 'how are session tokens signed?', { llm: huge });
      assert.ok(r.answer.length < 200_000, `answer of ${r.answer.length} characters`);
      assert.ok(r.citations.length < 50_000);
    });

    it('the same folder given twice, or a folder inside another root, is indexed once', async () => {
      const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws, ws, path.join(ws, 'src')]), indexDir });
      opened.push(index);
      await index.update();
      const hashes = index.indexedPaths().map((p) => index.getFile(p)!.contentHash);
      assert.equal(new Set(hashes).size, hashes.length, index.indexedPaths().join('\n'));
    });

    it('a closed pipe (| head) ends search without a crash or temp files', async () => {
      assert.equal(runCli(['index', '--workspace', ws, '--index-dir', indexDir]).code, 0);
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'search', 'function', '--workspace', ws, '--index-dir', indexDir, '--k', '100'], {
          env: { ...process.env, CI: 'true', GROUNDWORK_OFFLINE: '1' },
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdout.once('data', () => child.stdout.destroy());
        child.on('close', (code) => resolve({ code, stderr }));
      });
      assert.doesNotMatch(r.stderr, /unexpected error|EPIPE/);
      const temps = (fs.readdirSync(indexDir, { recursive: true }) as string[]).filter((n) => String(n).endsWith('.gwtmp'));
      assert.deepEqual(temps, []);
    });
  });
});
