import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import protobuf from 'protobufjs';
import { repoRoot } from '../repoRoot';
import { LocalEmbedder } from '../../src/providers/localEmbedder';

const ROOT = repoRoot();
const MODEL_ID = 'groundwork-bench/bge-small-en-v1.5-shape';

// Just what this test reads of an ONNX model (field numbers as in onnx.proto).
const READER = protobuf
  .parse(
    `syntax = "proto3";
  message TensorProto { repeated int64 dims = 1; int32 data_type = 2; string name = 8; }
  message NodeProto { repeated string input = 1; string op_type = 4; }
  message GraphProto { repeated NodeProto node = 1; repeated TensorProto initializer = 5; }
  message ModelProto { GraphProto graph = 7; }`,
    { keepCase: true },
  )
  .root.lookupType('ModelProto');

interface Graph {
  graph: { node: Array<{ op_type: string; input: string[] }>; initializer: Array<{ name: string; dims: number[]; data_type: number }> };
}

describe('benchmark model (scripts/makeBenchModel.mjs: bge-small-en-v1.5 shape, random weights, int8)', function () {
  this.timeout(180_000);
  let tmp: string;
  let dir: string;

  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'gw-bench-model-'));
    // The vocabulary is learnt from this project's Markdown (node_modules), as npm run bench:embed does.
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/makeBenchModel.mjs'), tmp, '--prose', path.join(ROOT, 'node_modules')], { stdio: 'pipe' });
    dir = path.join(tmp, ...MODEL_ID.split('/'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("has bge-small's configuration and a 30522-entry WordPiece vocabulary with bert's special ids", () => {
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.model_type, 'bert');
    assert.equal(config.hidden_size, 384);
    assert.equal(config.num_hidden_layers, 12);
    assert.equal(config.num_attention_heads, 12);
    assert.equal(config.intermediate_size, 1536);
    assert.equal(config.vocab_size, 30522);
    assert.equal(config.max_position_embeddings, 512);
    const tok = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as { model: { type: string; vocab: Record<string, number> } };
    assert.equal(tok.model.type, 'WordPiece');
    const ids = Object.values(tok.model.vocab).sort((a, b) => a - b);
    assert.equal(ids.length, 30522);
    assert.ok(
      ids.every((id, i) => id === i),
      'ids are 0..30521 without gaps',
    );
    assert.deepEqual(
      ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => tok.model.vocab[t]),
      [0, 100, 101, 102, 103],
    );
    const pieces = Object.keys(tok.model.vocab).filter((t) => t.startsWith('##')).length;
    assert.ok(pieces > 5000 && pieces < 7000, `${pieces} continuation pieces (bert-base-uncased has ~5.8k)`);
  });

  it('is the quantised BERT graph: 12 layers of int8 projections, float attention, GELU, LayerNorm', () => {
    const model = READER.toObject(READER.decode(readFileSync(path.join(dir, 'onnx', 'model_quantized.onnx'))), { longs: Number }) as Graph;
    const ops = new Map<string, number>();
    for (const n of model.graph.node) ops.set(n.op_type, (ops.get(n.op_type) ?? 0) + 1);
    assert.equal(ops.get('MatMulInteger'), 12 * 6, 'Q, K, V, output, FFN up and down per layer');
    assert.equal(ops.get('DynamicQuantizeLinear'), 12 * 4, 'layer input (shared by Q/K/V), attention context, FFN input, GELU output');
    assert.equal(ops.get('MatMul'), 12 * 2, 'Q·Kᵀ and softmax·V stay float');
    assert.equal(ops.get('Softmax'), 12);
    assert.equal(ops.get('Erf'), 12);
    assert.equal(ops.get('LayerNormalization'), 1 + 12 * 2);
    const init = new Map(model.graph.initializer.map((t) => [t.name, t]));
    const uint8 = 2;
    for (const [name, dims] of [
      ['word_embeddings_quantized', [30522, 384]],
      ['l0_q_quantized', [384, 384]],
      ['l11_up_quantized', [384, 1536]],
      ['l11_down_quantized', [1536, 384]],
    ] as const) {
      assert.deepEqual(init.get(name)?.dims, dims, name);
      assert.equal(init.get(name)?.data_type, uint8, `${name} is uint8`);
    }
  });

  it('loads in the real local embedder and gives 384-d CLS-pooled unit vectors', async () => {
    const e = await LocalEmbedder.open({ modelId: MODEL_ID, cacheDir: tmp });
    try {
      assert.equal(e.dimensions, 384);
      assert.equal(e.pooling, 'cls');
      const [a, b] = await e.embed(['export function signSession(userId, secret) { return hmac(secret, userId); }', 'def export_csv(rows, path): pass']);
      const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm(a!) - 1) < 1e-4 && Math.abs(norm(b!) - 1) < 1e-4);
      assert.ok(
        a!.some((x, i) => Math.abs(x - b![i]!) > 1e-3),
        'different texts, different vectors',
      );
      assert.ok(e.stats.tokens > 20, `${e.stats.tokens} tokens`);
    } finally {
      await e.close();
    }
  });
});
