/**
 * The read-only open that reads on demand (issue 10): the section file format, the lexical snapshot
 * reader, the lazily opened catalog, and a reader next to a writer that replaces the files.
 */
import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../repoRoot';
import { search } from '../../src/core/retrieval';
import { rootsFromDirs, WorkspaceIndex, type OpenOptions } from '../../src/core/workspaceIndex';
import { parseSectionFile, SectionFile, sectionFileParts, SectionFileError } from '../../src/core/sectionFile';
import { LexicalCorruptError, LexicalIndex, type LexicalDoc } from '../../src/core/lexicalIndex';
import { LexicalSnapshotReader } from '../../src/core/lexicalReader';
import { CatalogCorruptError, plainChunk } from '../../src/core/catalog';
import { symbolKeys, SymbolTable } from '../../src/core/symbolTable';
import { analyzeQuery } from '../../src/core/queryAnalysis';

const FIXTURE = path.join(repoRoot(), 'test/fixtures/workspace');

const QUERIES = [
  'token bucket rate limiting per client',
  'how are session tokens signed and verified?',
  'hash a password',
  'export rows to csv',
  'router middleware',
  'deployment',
];

describe('read-only open on demand', function () {
  let tmp: string;

  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'gw-lazy-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  describe('section file', () => {
    const MAGIC = 0x54534554;
    const write = (file: string) => {
      const parts = sectionFileParts(MAGIC, 3, { hello: 'world' }, [
        ['a', Buffer.from('first section')],
        ['b', [Buffer.from('two '), Buffer.from('parts')]],
        ['empty', Buffer.alloc(0)],
      ]);
      writeFileSync(file, Buffer.concat(parts));
      return Buffer.concat(parts);
    };

    it('round-trips sections whole and by positioned reads, each 8-byte aligned', async () => {
      const file = path.join(tmp, 's.bin');
      const whole = write(file);
      const parsed = parseSectionFile(whole, MAGIC, 3, 'test');
      assert.equal(parsed.header.hello, 'world');
      assert.equal(parsed.section('b').toString(), 'two parts');
      assert.equal(parsed.section('empty').length, 0);
      const f = await SectionFile.open(file, MAGIC, 3, 'test');
      try {
        assert.equal((await f.section('a')).toString(), 'first section');
        assert.equal((await f.range('b', 4, 5)).toString(), 'parts');
        assert.equal(f.rangeSync('a', 6, 7).toString(), 'section');
        assert.throws(() => f.rangeSync('a', 10, 10), /outside section a/);
        const table = (f.header as { sections: Record<string, number[]> }).sections;
        for (const [o] of Object.values(table)) assert.equal(o! % 8, 0);
      } finally {
        f.close();
      }
      await assert.rejects(() => f.section('a'), /closed/);
    });

    it('refuses a truncated, foreign or other-version file, and a garbled section or header', async () => {
      const file = path.join(tmp, 's.bin');
      const whole = write(file);
      writeFileSync(file, whole.subarray(0, whole.length - 2));
      await assert.rejects(() => SectionFile.open(file, MAGIC, 3, 'test'), /truncated/);
      assert.throws(() => parseSectionFile(whole.subarray(0, whole.length - 2), MAGIC, 3, 'test'), /truncated/);
      writeFileSync(file, 'not a section file at all');
      await assert.rejects(() => SectionFile.open(file, MAGIC, 3, 'test'), /not a test file/);
      assert.throws(() => parseSectionFile(whole, MAGIC, 4, 'test'), /format 3, expected 4/);
      // One byte of section a garbled: the header and size are fine, the section read is refused.
      const garbled = Buffer.from(whole);
      const sections = JSON.parse(garbled.subarray(16, 16 + garbled.readUInt32LE(8)).toString()).sections as Record<string, number[]>;
      garbled[sections.a![0]! + 2]! ^= 0xff;
      writeFileSync(file, garbled);
      const f = await SectionFile.open(file, MAGIC, 3, 'test');
      await assert.rejects(() => f.section('a'), SectionFileError);
      assert.equal((await f.section('b')).toString(), 'two parts');
      f.close();
      assert.throws(() => parseSectionFile(garbled, MAGIC, 3, 'test').section('a'), /fails its checksum/);
      // A header byte garbled.
      const badHeader = Buffer.from(whole);
      badHeader[20]! ^= 0x01;
      assert.throws(() => parseSectionFile(badHeader, MAGIC, 3, 'test'), /header fails its checksum/);
    });
  });

  describe('lexical snapshot reader', () => {
    const docs: LexicalDoc[] = [
      { id: 'src/a.ts#L1-L5#aaaaaaaa', path: 'src/a.ts', symbols: ['parseConfig'], header: '', text: 'function parseConfig(text) { return JSON.parse(text) }' },
      { id: 'src/b.ts#L1-L5#bbbbbbbb', path: 'src/b.ts', symbols: ['loadConfig'], header: '', text: 'const config = parseConfig(readFile("config.json"))' },
      { id: 'src/ünï/c.ts#L1-L2#cccccccc', path: 'src/ünï/c.ts', symbols: [], header: '', text: 'errors are reported to the user with a message' },
      { id: 'src/d.ts#L1-L9#dddddddd', path: 'src/d.ts', symbols: ['reportError'], header: '', text: 'function reportError(err) { console.error(err.message) } // config' },
    ];
    const query = (q: string) => analyzeQuery(q).terms;

    it('scores, ties and ids exactly as the loaded index, reading lists as it scores them, and finds every id', async () => {
      const full = new LexicalIndex();
      full.add(docs);
      const file = path.join(tmp, 'lexical.bin');
      writeFileSync(file, full.serialize({ gens: [1] }));
      const reader = await LexicalSnapshotReader.open(file);
      try {
        assert.deepEqual(reader.meta, { gens: [1] });
        assert.equal(reader.documentCount, docs.length);
        for (const [d, doc] of docs.entries()) {
          assert.equal(reader.idOf(d), doc.id);
          assert.equal(reader.locate(doc.id), d);
        }
        assert.equal(reader.locate('src/none.ts#L1-L1#00000000'), undefined);
        assert.equal(reader.index.heldPostings, 0, 'nothing read at open');
        for (const q of ['parse config', 'errors reported user', 'config', 'nothing matches this zzzz']) {
          const terms = query(q);
          assert.deepEqual(reader.index.search(terms, 10), full.search(terms, 10), q);
          assert.deepEqual(
            reader.index.scoreIds(
              terms,
              docs.map((d) => d.id),
            ),
            full.scoreIds(
              terms,
              docs.map((d) => d.id),
            ),
          );
        }
      } finally {
        reader.close();
      }
    });

    it('detects a garbled posting list when it is read, and a truncated file at open', async () => {
      const full = new LexicalIndex();
      full.add(docs);
      const bytes = full.serialize();
      const file = path.join(tmp, 'lexical.bin');
      const sections = JSON.parse(bytes.subarray(16, 16 + bytes.readUInt32LE(8)).toString()).sections as Record<string, number[]>;
      const garbled = Buffer.from(bytes);
      // Every posting entry's tf garbled: each term's list fails its own CRC.
      for (let o = sections.tfs![0]!; o < sections.tfs![0]! + sections.tfs![1]!; o += 4) garbled[o + 3]! ^= 0x40;
      writeFileSync(file, garbled);
      const reader = await LexicalSnapshotReader.open(file);
      assert.equal(reader.df('config'), full.documentFrequency('config'), 'frequencies need no list');
      assert.throws(
        () => reader.index.search(query('config parse'), 10),
        (err: unknown) => err instanceof LexicalCorruptError && /checksum/.test(err.message),
      );
      reader.close();
      assert.throws(() => LexicalIndex.deserialize(garbled), /tfs fails its checksum/);
      writeFileSync(file, bytes.subarray(0, bytes.length - 4));
      await assert.rejects(
        () => LexicalSnapshotReader.open(file),
        (err: unknown) => err instanceof LexicalCorruptError && /truncated/.test(err.message),
      );
    });

    it('holds at most its bound of posting entries, whatever is searched', async () => {
      const full = new LexicalIndex();
      full.add(docs);
      const file = path.join(tmp, 'lexical.bin');
      writeFileSync(file, full.serialize());
      const reader = await LexicalSnapshotReader.open(file, { maxHeldPostings: 3 });
      for (const q of ['parse config', 'errors reported user', 'config', 'report error message console']) {
        assert.deepEqual(reader.index.search(query(q), 10), full.search(query(q), 10), q);
        assert.ok(reader.index.heldPostings <= 3 + 2, `held ${reader.index.heldPostings}`);
      }
      reader.close();
    });

    it('opens an empty snapshot', async () => {
      const file = path.join(tmp, 'lexical.bin');
      writeFileSync(file, new LexicalIndex().serialize({ gens: [] }));
      const reader = await LexicalSnapshotReader.open(file);
      assert.deepEqual(reader.index.search(query('anything'), 10), []);
      assert.equal(reader.locate('x'), undefined);
      reader.close();
    });
  });

  describe('workspace index opened read-only', () => {
    let ws: string;
    let indexDir: string;
    const opened: WorkspaceIndex[] = [];
    const open = async (extra: Partial<OpenOptions> = {}) => {
      const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir, ...extra });
      opened.push(index);
      return index;
    };
    const build = async () => {
      const w = await open();
      await w.update();
      await w.close();
    };
    const hitsOf = async (index: WorkspaceIndex) =>
      Promise.all(QUERIES.map(async (q) => (await search(index, q, { k: 10 })).map((h) => [h.path, h.startLine, h.endLine, h.score, h.text])));

    beforeEach(() => {
      ws = path.join(tmp, 'ws');
      indexDir = path.join(tmp, 'index');
      cpSync(FIXTURE, ws, { recursive: true });
    });
    afterEach(async () => {
      for (const i of opened.splice(0)) await i.close();
    });

    it('reads on demand and answers exactly as the writer, with the same files, chunks and symbols', async () => {
      await build();
      const writer = await open();
      const expected = await hitsOf(writer);
      const table = writer.symbols as SymbolTable;
      const paths = writer.indexedPaths();
      const chunks = writer.chunkCount;
      const plain = new Map(paths.flatMap((p) => writer.getFile(p)!.chunks.map((c) => [c.id, plainChunk(c)] as const)));
      await writer.close();
      const reader = await open({ write: false });
      assert.ok(reader.prepare, 'the read-only open reads postings per search');
      assert.deepEqual(await hitsOf(reader), expected);
      assert.deepEqual(reader.indexedPaths(), paths);
      assert.equal(reader.chunkCount, chunks);
      for (const [key, files] of table.entries()) assert.deepEqual(new Map(reader.symbols.definers(key)), new Map(files), key);
      assert.equal(reader.symbols.definers('noSuchSymbolAnywhere'), undefined);
      const file = reader.getFile('src/http/rateLimit.ts')!;
      const onDisk = readFileSync(path.join(ws, 'src/http/rateLimit.ts'), 'utf8').split('\n');
      for (const c of file.chunks) {
        assert.equal(reader.getChunk(c.id)?.id, c.id);
        assert.ok(c.text.includes(onDisk[c.startLine - 1]!.trim()), `${c.id} text matches its lines`);
      }
      // Every chunk, found by id without decoding its file first, reads as the writer's.
      for (const [id, c] of plain) assert.deepEqual(plainChunk(reader.getChunk(id)!), c);
      assert.equal(reader.getChunk('src/http/rateLimit.ts#L1-L2#00000000'), undefined);
      assert.equal(reader.getFile('src/none.ts'), undefined);
      assert.equal(JSON.parse(JSON.stringify(reader.getFile('src/http/rateLimit.ts'))).chunks.length, file.chunks.length);
      assert.ok(symbolKeys('TokenBucket').length);
      const st = await reader.status();
      assert.equal(st.files, paths.length);
      // Closed: what was not read yet cannot be, and says why.
      const other = await open({ write: false });
      const unread = other.getFile('src/server.ts')!;
      await other.close();
      assert.throws(() => unread.chunks, /closed/);
    });

    it('keeps answering from the version it opened while a writer replaces every file', async () => {
      await build();
      const reader = await open({ write: false });
      const before = await hitsOf(reader);
      const writer = await open();
      writeFileSync(path.join(ws, 'src/http/rateLimit.ts'), 'export function zebraCrossingTimer() { return 42; }\n');
      writeFileSync(path.join(ws, 'src/quokka.ts'), 'export const quokkaHabitat = "Rottnest";\n');
      await writer.update();
      await writer.close();
      // Every catalog shard rewritten (new generations, old text files deleted), both snapshots renamed over.
      assert.deepEqual(await hitsOf(reader), before);
      assert.deepEqual(await search(reader, 'quokkaHabitat'), []);
      const fresh = await open({ write: false });
      assert.equal((await search(fresh, 'quokkaHabitat'))[0]?.path, 'src/quokka.ts');
      assert.equal((await search(fresh, 'zebraCrossingTimer'))[0]?.path, 'src/http/rateLimit.ts');
    });

    it('reports a chunk text or a file entry garbled after open instead of using it', async () => {
      await build();
      const reader = await open({ write: false });
      const entry = reader.getFile('src/auth/session.ts')!;
      const dir = path.join(indexDir, 'catalog');
      // Garble the shard text files in place (same inode, same size): the reader's descriptors see it.
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.txt'))) {
        const fd = openSync(path.join(dir, f), 'r+');
        writeSync(fd, Buffer.alloc(4096, 0x58), 0, 4096, 0);
        closeSync(fd);
      }
      assert.throws(
        () => entry.chunks[0]!.text,
        (err: unknown) => err instanceof CatalogCorruptError && /fails its checksum/.test(err.message),
      );
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
        const text = readFileSync(path.join(dir, f));
        const nl = text.indexOf(10);
        if (text.length <= nl + 40) continue;
        const fd = openSync(path.join(dir, f), 'r+');
        writeSync(fd, Buffer.from('#'), 0, 1, nl + 30);
        closeSync(fd);
      }
      assert.throws(
        () => reader.getFile('src/http/router.ts')?.chunks,
        (err: unknown) => err instanceof CatalogCorruptError && /fails its checksum/.test(err.message),
      );
      // A writer's open checks everything and rebuilds.
      const writer = await open();
      await writer.update();
      assert.equal((await search(writer, 'token bucket'))[0]?.path, 'src/http/rateLimit.ts');
    });

    it('falls back to loading in memory when the snapshots are older than the catalog', async () => {
      await build();
      const old = path.join(tmp, 'old');
      mkdirSync(old);
      for (const n of ['lexical.bin', 'files.bin']) copyFileSync(path.join(indexDir, n), path.join(old, n));
      writeFileSync(path.join(ws, 'src/quokka.ts'), 'export const quokkaHabitat = "Rottnest";\n');
      await build();
      for (const n of ['lexical.bin', 'files.bin']) copyFileSync(path.join(old, n), path.join(indexDir, n));
      const reader = await open({ write: false });
      assert.equal(reader.prepare, undefined, 'stale snapshots are not read on demand');
      assert.equal((await search(reader, 'quokkaHabitat'))[0]?.path, 'src/quokka.ts');
      assert.equal((await search(reader, 'token bucket'))[0]?.path, 'src/http/rateLimit.ts');
    });

    it('a truncated snapshot is loaded from the catalog instead, with a log line; a list garbled after open is reported', async () => {
      await build();
      const lexical = path.join(indexDir, 'lexical.bin');
      const whole = readFileSync(lexical);
      writeFileSync(lexical, whole.subarray(0, whole.length - 100));
      const lines: string[] = [];
      const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
      const reader = await open({ write: false, logger });
      assert.equal(reader.prepare, undefined);
      assert.ok(
        lines.some((l) => /lexical index is unreadable .*truncated/.test(l)),
        lines.join('\n'),
      );
      assert.equal((await search(reader, 'token bucket'))[0]?.path, 'src/http/rateLimit.ts');
      // Sound again, then every posting entry's frequency garbled in place under an open reader.
      writeFileSync(lexical, whole);
      const second = await open({ write: false });
      assert.ok(second.prepare);
      const table = JSON.parse(whole.subarray(16, 16 + whole.readUInt32LE(8)).toString()).sections as Record<string, number[]>;
      const fd = openSync(lexical, 'r+');
      writeSync(fd, Buffer.alloc(table.tfs![1]!, 0x7f), 0, table.tfs![1], table.tfs![0]);
      closeSync(fd);
      await assert.rejects(
        () => search(second, 'token bucket'),
        (err: unknown) => err instanceof LexicalCorruptError && /checksum.*groundwork index/.test(err.message),
      );
    });

    it('opens an empty index', async () => {
      rmSync(ws, { recursive: true });
      mkdirSync(ws);
      writeFileSync(path.join(ws, 'empty.bin'), Buffer.alloc(10));
      await build();
      const reader = await open({ write: false });
      assert.equal(reader.fileCount, 0);
      assert.deepEqual(await search(reader, 'anything at all'), []);
    });
  });
});
