import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RUNTIME_WASM, WASM_DIR_ENV, resolveWasmDir } from '../../src/core/assets';
import { CHUNKER_VERSION, Chunker, DEFAULT_MAX_CHARS } from '../../src/core/chunker/chunker';
import { EXTENSION_LANGUAGE, GRAMMAR_LANGUAGES, GRAMMAR_WASM, grammarWasmFor, languageForPath } from '../../src/core/languages';
import type { Chunk, ChunkFileResult } from '../../src/core/types';
import { repoRoot } from '../repoRoot';

const ROOT = repoRoot();
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'languages');
const NODE_MODULES = path.join(ROOT, 'node_modules');

/** Fixture file name → the path it is chunked as (.ts/.tsx fixtures carry .txt so tsc skips them). */
function virtualPath(file: string): string {
  return `fixtures/${file.replace(/\.txt$/, '')}`;
}

function readFixture(file: string): string {
  return fs.readFileSync(path.join(FIXTURES, file), 'utf8');
}

/** Lines as an editor shows them. */
function editorLines(raw: string): string[] {
  return raw.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
}

function lineOf(raw: string, needle: string): number {
  const i = editorLines(raw).findIndex((l) => l.includes(needle));
  assert.notEqual(i, -1, `needle not found: ${needle}`);
  return i + 1;
}

function chunkAt(result: ChunkFileResult, line: number): Chunk {
  const c = result.chunks.find((ch) => ch.startLine <= line && line <= ch.endLine);
  assert.ok(c, `no chunk covers line ${line}`);
  return c;
}

const PART = /@(\d+)$/;

/**
 * The invariants every chunking must keep: exact text, valid ranges, budget, coverage of every
 * non-blank line, ordered and non-overlapping chunks, id and hash formats.
 */
function checkInvariants(result: ChunkFileResult, raw: string, filePath: string, budget: number): void {
  const lines = editorLines(raw);
  const covered = new Uint8Array(lines.length);
  const pieces = new Map<number, string>();
  const ids = new Set<string>();
  let nextFree = 1;
  const where = (c: Chunk): string => `${filePath} @${budget}: ${c.id}`;
  for (const c of result.chunks) {
    assert.equal(c.path, filePath);
    assert.ok(c.startLine >= 1 && c.startLine <= c.endLine && c.endLine <= lines.length, `range ${where(c)}`);
    assert.ok(c.text.length <= budget, `over budget (${c.text.length}) ${where(c)}`);
    assert.ok(c.text.trim().length > 0, `blank chunk ${where(c)}`);
    assert.ok(!c.text.includes('\r'), `CR in text ${where(c)}`);
    assert.equal(c.hash, createHash('sha256').update(`${c.header}\n${c.text}`).digest('hex').slice(0, 16));
    const part = PART.exec(c.id);
    assert.equal(c.id, `${filePath}#L${c.startLine}-L${c.endLine}#${c.hash.slice(0, 8)}${part ? `@${part[1]}` : ''}`, 'id format');
    assert.ok(!ids.has(c.id), `duplicate id ${c.id}`);
    ids.add(c.id);
    assert.ok(c.header === '' || c.header === filePath || c.header.startsWith(`${filePath} › `), `header ${JSON.stringify(c.header)}`);
    if (part) {
      assert.equal(c.startLine, c.endLine, `a piece of a long line spans one line ${where(c)}`);
      pieces.set(c.startLine, (pieces.get(c.startLine) ?? '') + c.text);
      assert.ok(c.startLine >= nextFree - 1, `order ${where(c)}`);
      nextFree = c.startLine + 1;
    } else {
      assert.equal(c.text, lines.slice(c.startLine - 1, c.endLine).join('\n'), `text ${where(c)}`);
      assert.ok(c.startLine >= nextFree, `overlap or order ${where(c)}`);
      nextFree = c.endLine + 1;
    }
    for (let i = c.startLine - 1; i < c.endLine; i++) covered[i] = 1;
  }
  for (const [line, text] of pieces) assert.equal(text, lines[line - 1], `pieces of line ${line} rebuild it`);
  lines.forEach((l, i) => {
    if (l.trim()) assert.equal(covered[i], 1, `${filePath} @${budget}: line ${i + 1} not covered: ${l.slice(0, 80)}`);
  });
}

interface FixtureCase {
  file: string;
  language: string;
  /** Must all appear among the chunks' symbols. */
  symbols: string[];
  /** An enclosing signature that must head at least two pieces at the default budget. */
  splitSignature: string;
  /** [line with a doc comment or decorator, line of the declaration it documents]: same chunk. */
  attached: Array<[string, string]>;
}

const FIXTURE_CASES: FixtureCase[] = [
  {
    file: 'orderService.ts.txt',
    language: 'typescript',
    symbols: ['OrderService', 'OrderLine', 'OrderStatus', 'formatPrice', 'place', 'cancel', 'normalizeLines', 'Reports', 'dailyRevenue', 'isOrderId'],
    splitSignature: 'export class OrderService extends EventEmitter',
    attached: [
      ["@Injectable({ scope: 'singleton' })", 'export class OrderService'],
      [' * Application service for orders.', 'export class OrderService'],
      ["@Log('info')", 'async place(id: OrderId)'],
      ['/** Cancels an order', 'async cancel(id: OrderId'],
    ],
  },
  {
    file: 'todoList.tsx.txt',
    language: 'tsx',
    symbols: ['TodoListProps', 'todosReducer', 'TodoItem', 'TodoList'],
    splitSignature: "export function TodoList({ userId, initialFilter = 'all', onSelect }: TodoListProps)",
    attached: [['/** Pure reducer', 'export function todosReducer']],
  },
  {
    file: 'eventBus.js',
    language: 'javascript',
    symbols: ['ListenerError', 'EventBus', 'on', 'once', 'emit', 'nextEvent'],
    splitSignature: 'class EventBus',
    attached: [
      ['/** Like {@link EventBus#on}', 'once(event, fn) {'],
      [' * Delivers an event to its listeners', 'async emit(event, ...args) {'],
    ],
  },
  {
    file: 'inventory.py',
    language: 'python',
    symbols: ['InventoryError', 'Location', 'Reservation', 'Inventory', 'Snapshot', 'parse_sku', 'reserve', 'pick', 'restock_plan'],
    splitSignature: 'class Inventory',
    attached: [
      ['@dataclass(frozen=True)', 'class Location:'],
      ['@staticmethod', 'def parse_sku('],
      ['@property', 'def expired('],
    ],
  },
  {
    file: 'cache.go',
    language: 'go',
    symbols: ['Clock', 'Cache', 'New', 'Get', 'Set', 'WriteReport', 'Stats', 'Close'],
    splitSignature: 'func (c *Cache) WriteReport(w io.Writer, top int) error',
    attached: [
      ['// Get returns the value', 'func (c *Cache) Get('],
      ['// Set stores value under key', 'func (c *Cache) Set('],
    ],
  },
  {
    file: 'tokenizer.rs',
    language: 'rust',
    symbols: ['Token', 'Op', 'LexError', 'Lexer', 'tokenize', 'tokens', 'tests'],
    splitSignature: "impl<'a> Lexer<'a>",
    attached: [
      ['/// Kinds of tokens', 'pub enum Token {'],
      ['#[derive(Debug, Clone, Copy, PartialEq, Eq)]', 'pub enum Op {'],
      ['/// Creates a lexer', 'pub fn new(src'],
    ],
  },
  {
    file: 'UserRepository.java',
    language: 'java',
    symbols: ['UserRepository', 'User', 'TransactionWork', 'findByEmail', 'list', 'create', 'inTransaction'],
    splitSignature: 'public class UserRepository',
    attached: [
      ['@Cacheable("usersByEmail")', 'public Optional<User> findByEmail'],
      [' * Creates a user and returns it', 'public User create('],
      [' * JDBC access to the', 'public class UserRepository'],
    ],
  },
  {
    file: 'ringbuf.c',
    language: 'c',
    symbols: ['rb_stats', 'ringbuf_t', 'rb_init', 'rb_write', 'rb_read_line', 'rb_get_stats'],
    splitSignature: 'int rb_read_line(ringbuf_t *rb, char *dst, size_t dst_size)',
    attached: [[' * Writes up to len bytes', 'uint32_t rb_write(']],
  },
  {
    file: 'matrix.cpp',
    language: 'cpp',
    symbols: ['ShapeError', 'Matrix', 'RowView', 'identity', 'solve', 'norm', 'step'],
    splitSignature: 'template <typename T> class Matrix',
    attached: [['/// Identity matrix of size n.', 'static Matrix identity(']],
  },
  {
    file: 'InvoiceService.cs',
    language: 'csharp',
    symbols: ['InvoiceService', 'Line', 'SendOutcome', 'TaxByRate', 'CreateAsync', 'SendPendingAsync', 'IInvoiceStore'],
    splitSignature: 'public sealed class InvoiceService : IInvoiceService',
    attached: [
      ['[Obsolete(', 'public async Task<Invoice> CreateAsync'],
      ['/// <summary>Persistence port', 'public interface IInvoiceStore'],
    ],
  },
  {
    file: 'shoppingCart.rb',
    language: 'ruby',
    symbols: ['Shop', 'CartError', 'ShoppingCart', 'from_json', 'add', 'total', 'checkout!'],
    splitSignature: 'module Shop › class ShoppingCart',
    attached: [
      ['# Builds a cart from its JSON', 'def self.from_json'],
      ['# Total after discounts', 'def total'],
    ],
  },
  {
    file: 'UserController.php',
    language: 'php',
    symbols: ['present_user', 'UserController', 'index', 'show', 'update', 'destroy'],
    splitSignature: 'final class UserController extends Controller',
    attached: [
      ["#[Route('/api/users'", 'final class UserController'],
      ['* Updates the caller', 'public function update('],
      ["#[Route('/me', name: 'destroy'", 'public function destroy('],
    ],
  },
];

describe('languages', () => {
  it('maps extensions to language ids, case-insensitively', () => {
    const expected: Record<string, string> = {
      'a.ts': 'typescript',
      'a.mts': 'typescript',
      'a.cts': 'typescript',
      'a.tsx': 'tsx',
      'a.js': 'javascript',
      'a.mjs': 'javascript',
      'a.cjs': 'javascript',
      'a.jsx': 'javascript',
      'a.py': 'python',
      'a.go': 'go',
      'a.rs': 'rust',
      'a.java': 'java',
      'a.c': 'c',
      'a.h': 'c',
      'a.cc': 'cpp',
      'a.cpp': 'cpp',
      'a.cxx': 'cpp',
      'a.hpp': 'cpp',
      'a.hh': 'cpp',
      'a.hxx': 'cpp',
      'a.cs': 'csharp',
      'a.rb': 'ruby',
      'a.php': 'php',
      'a.md': 'markdown',
      'a.mdx': 'markdown',
      'a.markdown': 'markdown',
      'a.json': 'json',
      'a.yaml': 'yaml',
      'a.yml': 'yaml',
      'a.toml': 'toml',
      'a.sh': 'shell',
      'a.css': 'css',
      'a.html': 'html',
      'a.sql': 'sql',
      'a.kt': 'kotlin',
      'a.swift': 'swift',
      'src/Deep/PATH/README.MD': 'markdown',
      'win\\style\\Main.CS': 'csharp',
      Dockerfile: 'dockerfile',
      'a.unknownext': 'text',
      noext: 'text',
      '.bashrc': 'text',
      LICENSE: 'text',
    };
    for (const [p, lang] of Object.entries(expected)) assert.equal(languageForPath(p), lang, p);
  });

  it('names a grammar for exactly the parsed languages, and the build copies each of them', () => {
    assert.deepEqual([...GRAMMAR_LANGUAGES].sort(), ['c', 'cpp', 'csharp', 'go', 'java', 'javascript', 'php', 'python', 'ruby', 'rust', 'tsx', 'typescript']);
    assert.equal(grammarWasmFor('php'), 'tree-sitter-php.wasm');
    assert.equal(grammarWasmFor('csharp'), 'tree-sitter-c_sharp.wasm');
    assert.equal(grammarWasmFor('markdown'), undefined);
    assert.equal(grammarWasmFor('toString'), undefined);
    const build = fs.readFileSync(path.join(ROOT, 'scripts', 'build.mjs'), 'utf8');
    const wasmDir = resolveWasmDir();
    for (const file of Object.values(GRAMMAR_WASM)) {
      assert.ok(build.includes(`'${file}'`), `scripts/build.mjs copies ${file}`);
      assert.ok(fs.existsSync(path.join(wasmDir, file)), `${file} in ${wasmDir}`);
    }
    // Every extension maps to a language that is either parsed or handled by a fallback.
    for (const lang of Object.values(EXTENSION_LANGUAGE)) assert.ok(lang.length > 0);
  });
});

describe('resolveWasmDir', () => {
  const saved = process.env[WASM_DIR_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[WASM_DIR_ENV];
    else process.env[WASM_DIR_ENV] = saved;
  });

  it('finds the wasm folder of the test bundle (out/wasm)', () => {
    delete process.env[WASM_DIR_ENV];
    const dir = resolveWasmDir();
    assert.ok(fs.existsSync(path.join(dir, RUNTIME_WASM)));
    assert.equal(path.basename(dir), 'wasm');
  });

  it('honours GROUNDWORK_WASM_DIR and rejects a folder without the runtime', () => {
    const real = resolveWasmDir();
    process.env[WASM_DIR_ENV] = real;
    assert.equal(resolveWasmDir(), real);
    process.env[WASM_DIR_ENV] = FIXTURES;
    assert.throws(() => resolveWasmDir(), /does not contain web-tree-sitter\.wasm/);
  });
});

describe('Chunker', function () {
  this.timeout(120_000);
  let chunker: Chunker;
  before(() => {
    chunker = new Chunker();
  });
  after(() => chunker.dispose());

  it('exports a version and validates the budget', () => {
    assert.ok(Number.isInteger(CHUNKER_VERSION) && CHUNKER_VERSION > 0);
    assert.equal(chunker.maxChars, DEFAULT_MAX_CHARS);
    assert.throws(() => new Chunker({ maxChars: 10 }), RangeError);
    assert.throws(() => new Chunker({ maxChars: 1.5e3 + 0.5 }), RangeError);
  });

  describe('fixtures', () => {
    for (const fc of FIXTURE_CASES) {
      it(`${fc.language}: ${fc.file}`, async () => {
        const raw = readFixture(fc.file);
        const filePath = virtualPath(fc.file);
        const lineCount = editorLines(raw).length;
        assert.ok(lineCount >= 80 && lineCount <= 250, `fixture size ${lineCount}`);
        const result = await chunker.chunkFile(filePath, raw);
        assert.equal(result.method, 'syntax', result.fallbackReason);
        assert.ok(result.chunks.every((c) => c.language === fc.language));
        checkInvariants(result, raw, filePath, DEFAULT_MAX_CHARS);

        const symbols = new Set(result.chunks.flatMap((c) => c.symbols));
        for (const s of fc.symbols) assert.ok(symbols.has(s), `symbol ${s} in ${[...symbols].join(', ')}`);

        const split = result.chunks.filter((c) => c.header.startsWith(`${filePath} › `) && c.header.includes(fc.splitSignature));
        assert.ok(split.length >= 2, `≥2 pieces under "${fc.splitSignature}": ${result.chunks.map((c) => c.header).join(' | ')}`);

        for (const [doc, decl] of fc.attached) {
          const docLine = lineOf(raw, doc);
          const declLine = lineOf(raw, decl);
          assert.ok(docLine < declLine);
          const c = chunkAt(result, declLine);
          assert.ok(c.startLine <= docLine, `"${doc}" (L${docLine}) in the chunk of "${decl}" (L${c.startLine}-${c.endLine})`);
        }
      });
    }

    it('markdown: guide.md is cut at headings, front matter is not a heading', async () => {
      const raw = readFixture('guide.md');
      const filePath = virtualPath('guide.md');
      const result = await chunker.chunkFile(filePath, raw);
      assert.equal(result.method, 'markdown');
      checkInvariants(result, raw, filePath, DEFAULT_MAX_CHARS);
      const symbols = result.chunks.flatMap((c) => c.symbols);
      for (const h of ['Operator guide', 'Installation', 'From source', 'Configuration', 'Upgrading', 'Setext headings work too', 'Troubleshooting']) {
        assert.ok(symbols.includes(h), `heading ${h}`);
      }
      assert.ok(!symbols.some((s) => s.includes('title:')));
      // Every chunk starts at a heading (or the front matter at line 1).
      for (const c of result.chunks) {
        const first = editorLines(raw)[c.startLine - 1] ?? '';
        assert.ok(c.startLine === 1 || /^#{1,6} |^\S/.test(first), first);
      }
    });
  });

  describe('comments and decorators stay with their declaration', () => {
    // Small budgets so that every member is a chunk of its own: the chunk must start exactly at
    // the first comment or decorator line.
    const cases: Array<{ name: string; file: string; budget: number; source: string; starts: Array<[string, string]> }> = [
      {
        name: 'TypeScript method decorators and JSDoc (siblings inside the class body)',
        file: 'a.ts',
        budget: 300,
        source: [
          'export class Api {',
          '  private readonly db = createDb();',
          '',
          '  /** Fetches one item by id; returns undefined when missing. */',
          "  @Get('/items/:id')",
          '  @Auth()',
          '  async getItem(id: string): Promise<Item | undefined> {',
          '    const row = await this.db.query("select * from items where id = $1", [id]);',
          '    return row ? toItem(row) : undefined;',
          '  }',
          '',
          '  // Deletes an item; idempotent.',
          "  @Delete('/items/:id')",
          '  async deleteItem(id: string): Promise<void> {',
          '    await this.db.query("delete from items where id = $1", [id]);',
          '    this.events.emit("deleted", id);',
          '  }',
          '}',
        ].join('\n'),
        starts: [
          ['/** Fetches one item', 'async getItem'],
          ['// Deletes an item', 'async deleteItem'],
        ],
      },
      {
        name: 'TypeScript class decorators inside export_statement',
        file: 'b.ts',
        budget: 200,
        source: [
          "import { Component } from '@angular/core';",
          "import { Service } from './service';",
          '',
          '/** The dashboard page. */',
          '@Component({',
          "  selector: 'app-dashboard',",
          "  templateUrl: './dashboard.html',",
          '})',
          'export class DashboardComponent {',
          '  constructor(private readonly service: Service) {}',
          '}',
        ].join('\n'),
        starts: [['/** The dashboard page. */', 'export class DashboardComponent']],
      },
      {
        name: 'Python decorators and comments',
        file: 'a.py',
        budget: 240,
        source: [
          'from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple',
          '',
          '',
          '# Cached because the lookup hits the network.',
          '@functools.lru_cache(maxsize=128)',
          'def lookup(name: str) -> str:',
          '    """Resolves a name."""',
          '    return resolve_remote(name, timeout=5.0, retries=3, backoff=0.5)',
          '',
          '',
          '@app.route("/health")',
          'def health():',
          '    return {"status": "ok", "version": VERSION, "uptime": uptime_seconds()}',
        ].join('\n'),
        starts: [
          ['# Cached because', 'def lookup'],
          ['@app.route', 'def health'],
        ],
      },
      {
        name: 'Rust doc comments (ending at column 0 of the next line) and attributes',
        file: 'a.rs',
        budget: 220,
        source: [
          'use std::collections::HashMap;',
          '',
          '/// Settings read from the environment.',
          '/// Missing keys fall back to defaults.',
          '#[derive(Debug, Clone, Default)]',
          'pub struct Settings {',
          '    pub port: u16,',
          '    pub hosts: HashMap<String, String>,',
          '}',
          '',
          '/// Parses a port, rejecting zero.',
          '#[inline]',
          'pub fn parse_port(s: &str) -> Option<u16> {',
          '    s.parse::<u16>().ok().filter(|p| *p != 0)',
          '}',
        ].join('\n'),
        starts: [
          ['/// Settings read', 'pub struct Settings'],
          ['/// Parses a port', 'pub fn parse_port'],
        ],
      },
      {
        name: 'Java Javadoc and annotations',
        file: 'A.java',
        budget: 230,
        source: [
          'public class A {',
          '    /** Returns the greeting for a name. */',
          '    @Override',
          '    @Deprecated(since = "2.0")',
          '    public String greet(String name) {',
          '        return "Hello, " + name + "! Welcome back to the application dashboard.";',
          '    }',
          '',
          '    /** Counts the words of a text. */',
          '    @SuppressWarnings("unused")',
          '    public int count(String text) {',
          '        return text.trim().isEmpty() ? 0 : text.trim().split("\\\\s+").length;',
          '    }',
          '}',
        ].join('\n'),
        starts: [
          ['/** Returns the greeting', 'public String greet'],
          ['/** Counts the words', 'public int count'],
        ],
      },
      {
        name: 'C# XML docs and attributes inside a namespace',
        file: 'A.cs',
        budget: 240,
        source: [
          'namespace App.Web',
          '{',
          '    public class HomeController : Controller',
          '    {',
          '        /// <summary>Landing page.</summary>',
          '        [HttpGet("/")]',
          '        public IActionResult Index() => View(new HomeModel { Title = "Welcome", Items = _repo.Latest(10) });',
          '',
          '        /// <summary>Health probe for the load balancer.</summary>',
          '        [HttpGet("/health")]',
          '        public IActionResult Health() => Ok(new { status = "ok", version = Version, at = DateTime.UtcNow });',
          '    }',
          '}',
        ].join('\n'),
        starts: [
          ['/// <summary>Landing page', 'public IActionResult Index'],
          ['/// <summary>Health probe', 'public IActionResult Health'],
        ],
      },
      {
        name: 'PHP docblocks and attributes',
        file: 'a.php',
        budget: 260,
        source: [
          '<?php',
          'class Api',
          '{',
          '    private int $limit = 50;',
          '',
          '    /** Lists the items of the current user, newest first. */',
          "    #[Route('/items', methods: ['GET'])]",
          '    public function list(): array',
          '    {',
          "        return Item::query()->where('user_id', auth()->id())->latest()->get()->all();",
          '    }',
          '',
          '    /** Removes one item. */',
          "    #[Route('/items/{id}', methods: ['DELETE'])]",
          '    public function remove(int $id): void',
          '    {',
          '        Item::query()->whereKey($id)->where("user_id", auth()->id())->delete();',
          '    }',
          '}',
        ].join('\n'),
        starts: [
          ['/** Lists the items', 'public function list'],
          ['/** Removes one item', 'public function remove'],
        ],
      },
    ];
    for (const tc of cases) {
      it(tc.name, async () => {
        const c = new Chunker({ maxChars: tc.budget });
        try {
          const result = await c.chunkFile(tc.file, tc.source);
          assert.equal(result.method, 'syntax', result.fallbackReason);
          checkInvariants(result, tc.source, tc.file, tc.budget);
          for (const [doc, decl] of tc.starts) {
            const chunk = chunkAt(result, lineOf(tc.source, decl));
            assert.equal(chunk.startLine, lineOf(tc.source, doc), `${decl}: ${JSON.stringify(chunk.text)}`);
          }
        } finally {
          c.dispose();
        }
      });
    }
  });

  describe('splitting oversized declarations', () => {
    const method = (name: string, lines: number): string[] => [
      `  /** Handles ${name}. */`,
      `  async ${name}(item: Item): Promise<void> {`,
      ...Array.from({ length: lines }, (_, i) => `    await this.store.write(item.id, ${i}, { step: "${name}-${i}", at: Date.now() });`),
      '  }',
    ];
    const source = [
      "import { Store } from './store';",
      '',
      '/** Persists items. */',
      'export class Repo extends Base<Item> implements Saver {',
      '  private readonly store = new Store();',
      '',
      ...method('save', 40),
      '',
      ...method('load', 3),
      '}',
      '',
      'export const VERSION = 3;',
    ].join('\n');

    it('gives every piece a header with the enclosing signatures, nested ones included', async () => {
      const result = await chunker.chunkFile('src/repo.ts', source);
      assert.equal(result.method, 'syntax');
      checkInvariants(result, source, 'src/repo.ts', DEFAULT_MAX_CHARS);
      const classHeader = 'src/repo.ts › export class Repo extends Base<Item> implements Saver';
      const methodHeader = `${classHeader} › async save(item: Item): Promise<void>`;
      const saveLine = lineOf(source, 'async save(');
      const endOfSave = lineOf(source, '"save-39"');
      // The method is larger than the budget: pieces inside it carry both signatures.
      const overlapping = result.chunks.filter((c) => c.startLine <= endOfSave && c.endLine >= saveLine);
      assert.ok(overlapping.length >= 2, 'save() is split');
      const inside = result.chunks.filter((c) => c.startLine > saveLine && c.endLine <= endOfSave);
      assert.ok(inside.length >= 1);
      for (const c of inside) assert.equal(c.header, methodHeader);
      // The class's first piece starts at its doc comment; the method's first piece at its own.
      const classHead = chunkAt(result, lineOf(source, 'export class Repo'));
      assert.equal(classHead.startLine, lineOf(source, '/** Persists items. */'));
      assert.equal(classHead.header, classHeader);
      assert.ok(classHead.symbols.includes('Repo'), classHead.symbols.join());
      const saveHead = chunkAt(result, saveLine);
      assert.equal(saveHead.startLine, lineOf(source, '/** Handles save. */'));
      assert.equal(saveHead.header, methodHeader);
      assert.deepEqual(saveHead.symbols, ['save']);
      // Nothing outside the class carries a header.
      assert.equal(chunkAt(result, lineOf(source, 'export const VERSION')).header, '');
      // The same input gives the same ids.
      const again = await chunker.chunkFile('src/repo.ts', source);
      assert.deepEqual(
        again.chunks.map((c) => c.id),
        result.chunks.map((c) => c.id),
      );
    });

    it('descends through IIFE wrappers and namespaces', async () => {
      const body = Array.from({ length: 60 }, (_, i) => `  function helper${i}(x) { return x * ${i} + Math.floor(x / ${i + 1}); }`);
      const iife = ['(function (root, factory) {', "  'use strict';", ...body, '})(this, {});'].join('\n');
      const r1 = await chunker.chunkFile('lib/bundle.js', iife);
      checkInvariants(r1, iife, 'lib/bundle.js', DEFAULT_MAX_CHARS);
      assert.ok(r1.chunks.length >= 3);
      assert.ok(
        r1.chunks.every((c) => c.header === 'lib/bundle.js › (function (root, factory)'),
        r1.chunks[0]?.header,
      );
      assert.ok(r1.chunks.some((c) => c.symbols.includes('helper30')));

      const ns = ['namespace Geometry {', ...body.map((l) => l.replace('function', 'export function')), '}'].join('\n');
      const r2 = await chunker.chunkFile('src/geometry.ts', ns);
      checkInvariants(r2, ns, 'src/geometry.ts', DEFAULT_MAX_CHARS);
      assert.ok(r2.chunks.every((c) => c.header === 'src/geometry.ts › namespace Geometry'));
      assert.ok(r2.chunks[0]?.symbols.includes('Geometry'));
    });

    it('packs small sibling declarations together up to the budget', async () => {
      const fns = Array.from({ length: 18 }, (_, i) => `def f${i}(x):\n    return x + ${i}\n`).join('\n');
      assert.ok(fns.length < DEFAULT_MAX_CHARS);
      const result = await chunker.chunkFile('m.py', fns);
      checkInvariants(result, fns, 'm.py', DEFAULT_MAX_CHARS);
      assert.equal(result.chunks.length, 1);
      assert.equal(result.chunks[0]?.symbols.length, 18);
      const small = new Chunker({ maxChars: 100 });
      try {
        const r = await small.chunkFile('m.py', fns);
        checkInvariants(r, fns, 'm.py', 100);
        assert.ok(r.chunks.length >= 5 && r.chunks.length < 18, String(r.chunks.length));
        // Declarations are never cut in the middle when they fit.
        for (const c of r.chunks) assert.match(c.text, /^def f\d+\(x\):/);
      } finally {
        small.dispose();
      }
    });
  });

  it('cuts a line longer than the budget into pieces with the same line range', async () => {
    const long = `const DATA = "${'abcdefghij'.repeat(450)}";`;
    const source = ['// generated', long, 'export function f() { return DATA.length; }'].join('\n');
    const result = await chunker.chunkFile('gen/data.js', source);
    checkInvariants(result, source, 'gen/data.js', DEFAULT_MAX_CHARS);
    const pieces = result.chunks.filter((c) => c.startLine === 2);
    assert.equal(pieces.length, Math.ceil(long.length / DEFAULT_MAX_CHARS));
    assert.deepEqual(
      pieces.map((c) => PART.exec(c.id)?.[1]),
      pieces.map((_, i) => String(i + 1)),
    );
    assert.equal(pieces.map((c) => c.text).join(''), long);
    // Minified single-line files and plain text get the same treatment.
    const text = await chunker.chunkFile('notes.txt', `${'word '.repeat(1000)}\n\nend`);
    checkInvariants(text, `${'word '.repeat(1000)}\n\nend`, 'notes.txt', DEFAULT_MAX_CHARS);
    assert.equal(text.method, 'blocks');
    assert.ok(
      text.chunks.slice(0, -1).every((c) => c.text.endsWith(' ')),
      'cuts prefer whitespace',
    );
  });

  it('handles CRLF line breaks and a BOM: same lines and text as the LF file', async () => {
    const lf = readFixture('inventory.py');
    const crlf = `\uFEFF${lf.replace(/\n/g, '\r\n')}`;
    const a = await chunker.chunkFile('inv.py', lf);
    const b = await chunker.chunkFile('inv.py', crlf);
    checkInvariants(b, crlf, 'inv.py', DEFAULT_MAX_CHARS);
    assert.deepEqual(
      b.chunks.map((c) => [c.id, c.startLine, c.endLine, c.text]),
      a.chunks.map((c) => [c.id, c.startLine, c.endLine, c.text]),
    );
    // A lone CR is a line break too, as in editors.
    const cr = 'def a():\r    return 1\r\rdef b():\r    return 2\r';
    const r = await chunker.chunkFile('cr.py', cr);
    checkInvariants(r, cr, 'cr.py', DEFAULT_MAX_CHARS);
    assert.equal(r.chunks[0]?.endLine, 5);
  });

  it('falls back to blocks for garbage in a grammar language, but keeps syntax for a local error', async () => {
    const garbage = Array.from({ length: 40 }, (_, i) => (i % 7 === 6 ? '' : `}}} ${'@#'.repeat(i % 5)} ((( lorem ipsum ${i} ::: <<< >>> ]]] ;; "unterminated ${i}`)).join('\n');
    const result = await chunker.chunkFile('broken.ts', garbage);
    assert.equal(result.method, 'fallback');
    assert.match(result.fallbackReason ?? '', /syntax errors cover \d+% of the file/);
    checkInvariants(result, garbage, 'broken.ts', DEFAULT_MAX_CHARS);

    const raw = readFixture('orderService.ts.txt');
    const oneBadLine = raw.replace('  private readonly cache = new Map<OrderId, Order>();', '  private readonly cache = = new Map<<;');
    const local = await chunker.chunkFile('fixtures/orderService.ts', oneBadLine);
    assert.equal(local.method, 'syntax', local.fallbackReason);
    checkInvariants(local, oneBadLine, 'fixtures/orderService.ts', DEFAULT_MAX_CHARS);

    // The language argument overrides detection.
    const forced = await chunker.chunkFile('script', 'def main():\n    print("hi")\n', 'python');
    assert.equal(forced.method, 'syntax');
    assert.deepEqual(forced.chunks[0]?.symbols, ['main']);
  });

  it('tries the C++ grammar for a C++ header saved as .h', async () => {
    const header = [
      '#pragma once',
      'namespace net {',
      'template <typename T>',
      'class Queue {',
      ' public:',
      '  explicit Queue(std::size_t capacity) : capacity_(capacity) {}',
      '  bool push(const T& value);',
      ' private:',
      '  std::size_t capacity_;',
      '};',
      '}  // namespace net',
    ].join('\n');
    const result = await chunker.chunkFile('include/queue.h', header);
    assert.equal(result.method, 'syntax', result.fallbackReason);
    assert.equal(result.chunks[0]?.language, 'cpp');
    assert.ok(result.chunks[0]?.symbols.includes('Queue'));
    const c = await chunker.chunkFile('include/list.h', 'struct node { int v; struct node *next; };\nint list_len(const struct node *n);\n');
    assert.equal(c.chunks[0]?.language, 'c');
    assert.deepEqual(c.chunks[0]?.symbols, ['node', 'list_len']);
  });

  it('chunks markdown at headings, splits a big section at blank lines outside code fences', async () => {
    const raw = readFixture('guide.md');
    const small = new Chunker({ maxChars: 600 });
    try {
      const result = await small.chunkFile('docs/guide.md', raw);
      assert.equal(result.method, 'markdown');
      checkInvariants(result, raw, 'docs/guide.md', 600);
      const config = result.chunks.filter((c) => c.header === 'docs/guide.md › Operator guide › Configuration');
      assert.ok(config.length >= 1, result.chunks.map((c) => c.header).join(' | '));
      const head = chunkAt(result, lineOf(raw, '## Configuration'));
      assert.ok(head.symbols.includes('Configuration'));
      // The fenced block with a blank line inside stays whole.
      const curl = chunkAt(result, lineOf(raw, 'curl -LO'));
      assert.ok(curl.endLine >= lineOf(raw, 'sudo install rules'));
    } finally {
      small.dispose();
    }
  });

  it("markdown: the block structure is CommonMark's (markdown-it): headings only where they are headings, code blocks kept whole", async () => {
    const para = Array.from({ length: 8 }, (_, i) => `Sentence ${i} of a long paragraph that runs straight into the code below.`).join('\n');
    const raw = [
      '# Guide',
      '',
      '```',
      '# not a heading: a shell comment in a fence',
      '```js',
      'still inside: a closing fence has no info string',
      '```',
      '',
      'A setext heading',
      'over two lines',
      '===',
      '',
      '> # Quoted, not a section',
      '',
      '    # indented code, not a heading',
      '',
      '    still the same code block after a blank line',
      '',
      '## Long section',
      '',
      para,
      '~~~sh',
      'curl -LO https://example.com/tool.tar.gz',
      '',
      'tar xzf tool.tar.gz',
      '~~~',
      '',
      'Closing words.',
    ].join('\n');
    const small = new Chunker({ maxChars: 400 });
    try {
      const result = await small.chunkFile('docs/structure.md', raw);
      assert.equal(result.method, 'markdown');
      checkInvariants(result, raw, 'docs/structure.md', 400);
      const symbols = result.chunks.flatMap((c) => c.symbols);
      assert.deepEqual(symbols, ['Guide', 'A setext heading over two lines', 'Long section']);
      // The fence is one block, cut from the long paragraph it follows without a blank line (which
      // is split by lines), so no cut falls inside it.
      const fence = chunkAt(result, lineOf(raw, 'curl -LO'));
      assert.ok(fence.startLine <= lineOf(raw, '~~~sh') && fence.endLine >= lineOf(raw, 'tar xzf') + 1, `${fence.startLine}-${fence.endLine}`);
      assert.ok(fence.startLine > lineOf(raw, 'Sentence 0'), 'the paragraph was split before the fence');
      // The indented code block with a blank line inside stays in one chunk.
      const code = chunkAt(result, lineOf(raw, '    # indented code'));
      assert.ok(code.endLine >= lineOf(raw, '    still the same code block'));
      // An unclosed fence runs to the end of the file: nothing after it is a heading.
      const unclosed = await small.chunkFile('docs/unclosed.md', '# Top\n\n```\n# inside\n\n## also inside\n');
      assert.deepEqual(
        unclosed.chunks.flatMap((c) => c.symbols),
        ['Top'],
      );
      // Front matter only, and an empty front matter: no heading, every line still in a chunk.
      for (const text of ['---\ntitle: x\n---', '---\n---\n# After\n']) {
        const r = await small.chunkFile('docs/fm.md', text);
        checkInvariants(r, text, 'docs/fm.md', 400);
        assert.deepEqual(
          r.chunks.flatMap((c) => c.symbols),
          text.includes('After') ? ['After'] : [],
        );
      }
    } finally {
      small.dispose();
    }
  });

  it('packs blank-line blocks for languages without a grammar', async () => {
    const yaml = Array.from({ length: 120 }, (_, i) => (i % 6 === 5 ? '' : `key_${i}: value number ${i}`)).join('\n');
    const result = await chunker.chunkFile('config/app.yaml', yaml);
    assert.equal(result.method, 'blocks');
    assert.ok(result.chunks.every((c) => c.language === 'yaml' && c.symbols.length === 0 && c.header === ''));
    checkInvariants(result, yaml, 'config/app.yaml', DEFAULT_MAX_CHARS);
    // Cuts fall on blank lines.
    for (const c of result.chunks.slice(1)) assert.equal(editorLines(yaml)[c.startLine - 2], '');
    const unknown = await chunker.chunkFile('data/x.weird', 'a\nb\n');
    assert.equal(unknown.chunks[0]?.language, 'text');
  });

  it('returns no chunks for empty or blank files', async () => {
    for (const [p, t] of [
      ['e.ts', ''],
      ['e.md', '\n\n  \n'],
      ['e.txt', '\uFEFF'],
      ['e.py', '\r\n\r\n'],
    ] as const) {
      const r = await chunker.chunkFile(p, t);
      assert.deepEqual(r.chunks, [], p);
    }
  });

  it('serves concurrent calls in every language from one parser', async () => {
    const fresh = new Chunker();
    try {
      const files = FIXTURE_CASES.map((fc) => fc.file);
      const together = await Promise.all(files.map((f) => fresh.chunkFile(virtualPath(f), readFixture(f))));
      for (const [i, f] of files.entries()) {
        const alone = await chunker.chunkFile(virtualPath(f), readFixture(f));
        assert.deepEqual(
          together[i]?.chunks.map((c) => c.id),
          alone.chunks.map((c) => c.id),
          f,
        );
      }
    } finally {
      fresh.dispose();
    }
    await assert.rejects(fresh.chunkFile('a.ts', 'x'), /after dispose/);
    fresh.dispose();
  });

  describe('property: real files nobody here wrote', () => {
    const BUDGETS = [300, 1500, 4000];
    const PER_LANGUAGE = 6;
    const MAX_BYTES = 256 * 1024;
    /** Files our own devDependencies ship, so they must be found. */
    const MUST_EXIST = ['typescript', 'javascript', 'c', 'cpp', 'markdown'];

    /** Every candidate file under node_modules by language, sorted: deterministic for one install. */
    function collect(): Map<string, string[]> {
      const byLang = new Map<string, string[]>();
      const walk = (dir: string, depth: number): void => {
        let entries: fs.Dirent[];
        try {
          entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
          return;
        }
        for (const e of entries) {
          const p = path.join(dir, e.name);
          if (e.isDirectory()) {
            if (depth < 8 && e.name !== '.bin' && e.name !== '.cache') walk(p, depth + 1);
            continue;
          }
          if (!e.isFile()) continue;
          const lang = languageForPath(e.name);
          if (lang === 'text') continue;
          let size: number;
          try {
            size = fs.statSync(p).size;
          } catch {
            continue;
          }
          if (size === 0 || size > MAX_BYTES) continue;
          const list = byLang.get(lang) ?? [];
          list.push(p);
          byLang.set(lang, list);
        }
      };
      walk(NODE_MODULES, 0);
      for (const list of byLang.values()) list.sort();
      return byLang;
    }

    /** Evenly spaced picks from the sorted list, plus a few well-known files when present. */
    function pick(list: string[], lang: string): string[] {
      const known: Record<string, string[]> = {
        typescript: ['typescript/lib/lib.es5.d.ts', '@types/node/fs.d.ts'],
        javascript: ['mocha/lib/runner.js', 'eslint/lib/linter/linter.js'],
      };
      const out = new Set<string>();
      for (const k of known[lang] ?? []) {
        const p = path.join(NODE_MODULES, k);
        if (fs.existsSync(p) && fs.statSync(p).size <= MAX_BYTES * 2) out.add(p);
      }
      const n = Math.min(PER_LANGUAGE, list.length);
      for (let i = 0; i < n; i++) {
        const item = list[Math.floor((i * list.length) / n)];
        if (item) out.add(item);
      }
      return [...out];
    }

    const languages = [...GRAMMAR_LANGUAGES, 'markdown', 'json', 'yaml'];
    let found: Map<string, string[]>;
    before(function () {
      this.timeout(60_000);
      found = collect();
    });

    it('finds real files for the languages our dependencies ship', () => {
      for (const lang of MUST_EXIST) assert.ok((found.get(lang) ?? []).length > 0, `no real ${lang} file in node_modules`);
    });

    for (const lang of languages) {
      it(`${lang}: every line covered, exact text, within budget at ${BUDGETS.join('/')}`, async () => {
        const real = pick(found.get(lang) ?? [], lang);
        const files = real.map((p) => ({ label: path.relative(ROOT, p).split(path.sep).join('/'), text: fs.readFileSync(p, 'utf8') }));
        if (files.length === 0) {
          // No file in this language ships in node_modules (e.g. Ruby, TSX): use the fixtures.
          const fixtures = [...FIXTURE_CASES.map((f) => f.file), 'guide.md', 'widget.jsx'].filter((f) => languageForPath(f.replace(/\.txt$/, '')) === lang);
          assert.ok(fixtures.length > 0 || !grammarWasmFor(lang), `no real file and no fixture for ${lang}`);
          for (const f of fixtures) files.push({ label: virtualPath(f), text: readFixture(f) });
        }
        let syntax = 0;
        for (const budget of BUDGETS) {
          const c = new Chunker({ maxChars: budget });
          try {
            for (const f of files) {
              const result = await c.chunkFile(f.label, f.text);
              checkInvariants(result, f.text, f.label, budget);
              if (result.method === 'syntax') syntax++;
            }
          } finally {
            c.dispose();
          }
        }
        // Real files of a parsed language should mostly parse (node-addon-api's macro-heavy
        // headers are the known exception for C).
        if (grammarWasmFor(lang) && files.length) assert.ok(syntax > 0, `${lang}: no file chunked by syntax`);
      });
    }
  });
});
