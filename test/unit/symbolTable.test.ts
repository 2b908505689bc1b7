/**
 * The symbol tables: a stored one (packed sections, what a snapshot keeps) answers as the table it
 * was packed from, and edits layered over it (an overlay's) answer as the same edits made to a
 * table in memory.
 */
import { strict as assert } from 'node:assert';
import { LayeredSymbolTable, StoredSymbolTable, SymbolTable, symbolSections, SYMBOL_SECTIONS } from '../../src/core/symbolTable';
import { seededRandom } from '../../src/core/random.mjs';

const NAMES = [
  'run',
  'Runner.prototype.run',
  'TokenBucket',
  'fmt::detail::write<Char>',
  'write',
  'impl Display for Foo',
  'Foo',
  'refill',
  'x',
  'parse_args',
  'ParseArgs',
  'ÿname',
  'über',
];

function randomChunks(rand: () => number): Array<{ symbols: string[] }> {
  const chunks: Array<{ symbols: string[] }> = [];
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) chunks.push({ symbols: Array.from({ length: Math.floor(rand() * 3) }, () => NAMES[Math.floor(rand() * NAMES.length)]!) });
  return chunks;
}

const entries = (m: ReadonlyMap<string, number> | undefined) => [...(m ?? new Map()).entries()].sort();

function stored(table: SymbolTable, paths: string[]): StoredSymbolTable {
  const sections = Object.fromEntries(symbolSections(table, paths).map(([name, bytes]) => [name, Buffer.from(bytes)])) as Record<(typeof SYMBOL_SECTIONS)[number], Buffer>;
  return StoredSymbolTable.from(sections, paths.length, (d) => paths[d]!);
}

describe('symbol tables', () => {
  it('edits layered over a stored table answer as the same edits to a table in memory (random files, adds, removes, re-adds)', () => {
    const rand = seededRandom(7);
    for (let round = 0; round < 20; round++) {
      const paths = Array.from({ length: 12 }, (_, i) => `src/f${i}.ts`);
      const files = new Map(paths.map((p) => [p, randomChunks(rand)]));
      const memory = new SymbolTable();
      for (const [p, chunks] of files) memory.add(p, chunks);
      const layered = new LayeredSymbolTable(stored(memory, paths));
      // The overlay's moves: a file's snapshot version leaves, a new version enters, an old one comes back.
      for (let step = 0; step < 30; step++) {
        const p = rand() < 0.2 ? `new/g${step}.ts` : paths[Math.floor(rand() * paths.length)]!;
        const old = files.get(p);
        if (old && rand() < 0.5) {
          memory.remove(p, old);
          layered.remove(p, old);
          files.delete(p);
        } else if (!old) {
          const chunks = randomChunks(rand);
          memory.add(p, chunks);
          layered.add(p, chunks);
          files.set(p, chunks);
        }
        for (const name of [...NAMES, 'missing'])
          for (const key of [name, name.toUpperCase()]) assert.deepEqual(entries(layered.definers(key)), entries(memory.definers(key)), `${key} (round ${round}, step ${step})`);
      }
    }
  });

  it('a layered table answers undefined once every definer of a key has left', () => {
    const memory = new SymbolTable();
    memory.add('a.ts', [{ symbols: ['refill'] }]);
    const layered = new LayeredSymbolTable(stored(memory, ['a.ts']));
    assert.deepEqual(entries(layered.definers('refill')), [['a.ts', 1]]);
    layered.remove('a.ts', [{ symbols: ['refill'] }]);
    assert.equal(layered.definers('refill'), undefined);
    layered.add('b.ts', [{ symbols: ['Bucket.refill'] }]);
    assert.deepEqual(entries(layered.definers('REFILL')), [['b.ts', 1]]);
  });

  it('a stored table refuses sections that do not add up', () => {
    const memory = new SymbolTable();
    memory.add('a.ts', [{ symbols: ['refill', 'drain'] }]);
    const sections = Object.fromEntries(symbolSections(memory, ['a.ts']).map(([name, bytes]) => [name, Buffer.from(bytes)])) as Record<(typeof SYMBOL_SECTIONS)[number], Buffer>;
    assert.throws(() => StoredSymbolTable.from({ ...sections, symCounts: Buffer.alloc(4) }, 1, () => 'a.ts'), /do not add up/);
    assert.throws(() => StoredSymbolTable.from(sections, 0, () => 'a.ts'), /out of range/);
  });
});
