// Writes a random-weight model with the default local model's exact architecture (bge-small-en-v1.5:
// BERT, 12 layers, hidden 384, 12 heads, intermediate 1536, vocabulary 30522, 512 positions, CLS
// pooling), int8-quantised the way the default `onnx/model_quantized.onnx` is, so benchmarks measure
// the real cost of the local embedding path without downloading weights. Inference cost depends on
// the shapes and operators, not on the weights; the vectors mean nothing.
//
//   node scripts/makeBenchModel.mjs <outDir> [--model-id groundwork-bench/bge-small-en-v1.5-shape]
//        [--prose <dir>] [--seed 42] [--fp32]
//
// Never committed and never downloaded: scripts/benchEmbed.ts generates it into a cache folder.
//
// The graph is what ONNX Runtime's dynamic quantisation makes of the BERT export, written directly:
//   - embeddings: uint8 word/position/token-type tables → Gather → DequantizeLinear, summed, LayerNorm;
//   - per layer: DynamicQuantizeLinear of the layer input, shared by the Q, K and V projections; each
//     projection MatMulInteger(uint8 activations, uint8 weights) → Cast → Mul(x_scale × w_scale) → Add
//     bias (the pattern ONNX Runtime fuses into DynamicQuantizeMatMul at session load); the attention
//     products (Q·Kᵀ, softmax·V) stay float as with `MatMulConstBOnly`, the quantiser's dynamic default;
//     12 heads of 32 via Reshape/Transpose, scores / √32 + (1 − mask) × −10000, Softmax; output
//     projection, residual, LayerNorm; FFN 384 → 1536 → GELU (erf form, as exported) → 384, residual,
//     LayerNorm;
//   - output last_hidden_state [batch, seq, 384] (pooled with CLS by the embedder).
// `--fp32` writes the same graph with float weights as onnx/model.onnx too (dtype "fp32").
//
// Tokenizer: the real one (bert-base-uncased's WordPiece, lowercasing, 30522 entries) is not on npm,
// so the vocabulary is synthetic but built the way a WordPiece vocabulary looks: [PAD], 994 [unusedN],
// [UNK] [CLS] [SEP] [MASK] at bert's ids (0, 100-103), the printable ASCII characters and their ##
// forms, ~2.9k non-ASCII characters (Latin, Greek, Cyrillic, CJK) and their ## forms, then whole words
// (seen twice or more) and 4,200 ## continuation pieces (frequent inner substrings of the remaining
// words), then the rarer words, then more CJK characters if the list is not full: all learnt from English prose — the Markdown files
// under `--prose` (default: this project's node_modules), with fenced and inline code removed so
// code identifiers are not whole words (bert's vocabulary was learnt from Wikipedia and books, where
// they are not either): code then splits into English sub-words, punctuation into single tokens, as
// with the real tokenizer. scripts/benchEmbed.ts prints the resulting tokens per chunk.
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { seededRandom } from '../src/core/random.mjs';
import { ONNX_SUBSET, tokenizerJson } from './makeTinyModel.mjs';

/** bge-small-en-v1.5's config.json values that fix the cost. */
export const BGE_SMALL = { hidden: 384, layers: 12, heads: 12, intermediate: 1536, vocab: 30522, positions: 512, typeVocab: 2 };

/** Bump when the graph or the vocabulary recipe changes (benchEmbed.ts regenerates on a new version). */
export const BENCH_MODEL_VERSION = 1;

const FLOAT = 1;
const UINT8 = 2;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

/**
 * ## continuation pieces learnt from the prose; with the ## forms of the characters that makes
 * ~5.8k ## entries, about bert-base-uncased's share of its 30522.
 */
const CONTINUATION_PIECES = 4200;
const PROSE_MAX_BYTES = 16 * 1024 * 1024;

function* markdownFiles(dir) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* markdownFiles(p);
    else if (e.isFile() && /\.md$/i.test(e.name)) yield p;
  }
}

/** Lowercased words of English prose: Markdown without code blocks, inline code, URLs and HTML. */
function proseWordCounts(proseDir) {
  const counts = new Map();
  let bytes = 0;
  for (const file of markdownFiles(proseDir)) {
    if (bytes > PROSE_MAX_BYTES) break;
    const text = fs
      .readFileSync(file, 'utf8')
      .replace(/```[\s\S]*?```/g, ' ')
      .replace(/~~~[\s\S]*?~~~/g, ' ')
      .replace(/`[^`\n]*`/g, ' ')
      .replace(/^(?: {4}|\t).*$/gm, ' ')
      .replace(/https?:\/\/\S+/g, ' ')
      .replace(/<[^>\n]*>/g, ' ');
    bytes += text.length;
    for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
      if (w.length > 24) continue;
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  if (counts.size < 1000) throw new Error(`too little prose under ${proseDir} (${counts.size} distinct words); pass --prose <folder with .md files>`);
  return counts;
}

/** token → id, `size` entries, laid out like bert-base-uncased's vocab.txt. */
export function buildBenchVocab(proseDir, size = BGE_SMALL.vocab) {
  const vocab = new Map();
  const add = (t) => {
    if (!vocab.has(t) && vocab.size < size) vocab.set(t, vocab.size);
  };
  add('[PAD]');
  for (let i = 0; vocab.size < 100; i++) add(`[unused${i}]`);
  ['[UNK]', '[CLS]', '[SEP]', '[MASK]'].forEach(add);
  for (let i = 99; vocab.size < 999; i++) add(`[unused${i}]`);
  const chars = [...'!"#$%&\'()*+,-./0123456789:;<=>?@[\\]^_`{|}~abcdefghijklmnopqrstuvwxyz'];
  chars.forEach(add);
  chars.forEach((c) => add(`##${c}`));

  // Non-ASCII characters and their ## forms, as bert's vocabulary has ~2k of them (Latin-1 and
  // Latin Extended, Greek, Cyrillic, CJK): entries code rarely hits, but they take their slots.
  const ranges = [
    [0xa1, 0x24f],
    [0x370, 0x3ff],
    [0x400, 0x4ff],
    [0x4e00, 0x4e00 + 700],
  ];
  for (const [from, to] of ranges) for (let c = from; c <= to; c++) add(String.fromCodePoint(c));
  for (const [from, to] of ranges) for (let c = from; c <= to; c++) add(`##${String.fromCodePoint(c)}`);

  const counts = proseWordCounts(proseDir);
  const byFreq = [...counts.entries()].filter(([w]) => w.length > 1).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  // Whole words: those seen at least twice, leaving room for the continuation pieces.
  const wordSlots = size - vocab.size - CONTINUATION_PIECES;
  const words = byFreq.filter(([, n]) => n >= 2).slice(0, wordSlots);
  const inVocab = new Set(words.map(([w]) => w));
  // Continuation pieces: substrings (2-6 letters) that follow a word start, counted over the words
  // left out of the whole-word list, weighted by frequency — what those words need to be spelt.
  const pieceCounts = new Map();
  for (const [w, n] of byFreq) {
    if (inVocab.has(w)) continue;
    for (let i = 1; i < w.length; i++) {
      for (let len = 2; len <= 6 && i + len <= w.length; len++) {
        const p = w.slice(i, i + len);
        pieceCounts.set(p, (pieceCounts.get(p) ?? 0) + n);
      }
    }
  }
  const pieces = [...pieceCounts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [w] of words) add(w);
  const piecesEnd = vocab.size + CONTINUATION_PIECES;
  for (const [p] of pieces) {
    if (vocab.size >= piecesEnd) break;
    add(`##${p}`);
  }
  // The rest, as in bert's list: rarer whole words (seen once), then more CJK characters (which code
  // does not hit) if the prose is too small to fill the list.
  for (const [w] of byFreq) add(w);
  for (let c = 0x4e00 + 701; vocab.size < size && c <= 0x9fff; c++) add(String.fromCodePoint(c));
  return vocab;
}

/** The ONNX ModelProto object (encoded by protobufjs). `quantized`: the int8 graph; else float weights. */
function buildGraph(shape, quantized, random) {
  const { hidden, layers, heads, intermediate, vocab, positions, typeVocab } = shape;
  const headSize = hidden / heads;
  if (!Number.isInteger(headSize)) throw new Error('hidden must be a multiple of heads');
  const initializer = [];
  const nodes = [];
  const attrInt = (name, i) => ({ name, type: ATTR_INT, i });
  const attrInts = (name, ints) => ({ name, type: ATTR_INTS, ints });
  const attrFloat = (name, f) => ({ name, type: ATTR_FLOAT, f });
  let nodeCount = 0;
  const node = (op_type, input, output, attribute = []) => nodes.push({ op_type, input, output, name: `${op_type}_${nodeCount++}`, attribute });
  const raw = (name, dims, data_type, bytes) => initializer.push({ name, dims, data_type, raw_data: bytes });
  const scalarF = (name, v) => raw(name, [], FLOAT, Buffer.from(new Float32Array([v]).buffer));
  const vecF = (name, n, fill) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = fill();
    raw(name, [n], FLOAT, Buffer.from(a.buffer));
  };
  const int64s = (name, values) => initializer.push({ name, dims: [values.length], data_type: INT64, int64_data: values });
  const randomBytes = (n) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const r = (random() * 4294967296) >>> 0;
      b[i] = r & 255;
      if (i + 1 < n) b[i + 1] = (r >>> 8) & 255;
      if (i + 2 < n) b[i + 2] = (r >>> 16) & 255;
      if (i + 3 < n) b[i + 3] = r >>> 24;
    }
    return b;
  };
  /** Uniform weights in ±limit: uint8 codes (zero point 128) or the floats they stand for. */
  const weight = (name, dims, limit) => {
    const n = dims.reduce((x, y) => x * y, 1);
    const codes = randomBytes(n);
    const scale = limit / 127;
    if (quantized) {
      raw(`${name}_quantized`, dims, UINT8, codes);
      scalarF(`${name}_scale`, scale);
      raw(`${name}_zero_point`, [], UINT8, Buffer.from([128]));
      return;
    }
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = (codes[i] - 128) * scale;
    raw(name, dims, FLOAT, Buffer.from(f.buffer));
  };
  /** Embedding lookup: Gather (+ DequantizeLinear for the uint8 table). */
  const embedding = (name, rows, ids, out) => {
    weight(name, [rows, hidden], 0.1);
    if (!quantized) {
      node('Gather', [name, ids], [out]);
      return;
    }
    node('Gather', [`${name}_quantized`, ids], [`${out}_q`]);
    node('DequantizeLinear', [`${out}_q`, `${name}_scale`, `${name}_zero_point`], [out]);
  };
  /** x · W + b for a [.., k] activation; `xq` is the DynamicQuantizeLinear triple of x when quantized. */
  const dense = (x, xq, name, k, n, out) => {
    weight(name, [k, n], 1 / Math.sqrt(k));
    vecF(`${name}_bias`, n, () => (random() - 0.5) * 0.02);
    if (quantized) {
      node('MatMulInteger', [xq.q, `${name}_quantized`, xq.zp, `${name}_zero_point`], [`${out}_i32`]);
      node('Cast', [`${out}_i32`], [`${out}_f`], [attrInt('to', FLOAT)]);
      node('Mul', [xq.scale, `${name}_scale`], [`${out}_s`]);
      node('Mul', [`${out}_f`, `${out}_s`], [`${out}_mm`]);
    } else {
      node('MatMul', [x, name], [`${out}_mm`]);
    }
    node('Add', [`${out}_mm`, `${name}_bias`], [out]);
  };
  const quantize = (x) => {
    if (!quantized) return undefined;
    node('DynamicQuantizeLinear', [x], [`${x}_q`, `${x}_qs`, `${x}_qzp`]);
    return { q: `${x}_q`, scale: `${x}_qs`, zp: `${x}_qzp` };
  };
  const layerNorm = (x, name, out) => {
    vecF(`${name}_gamma`, hidden, () => 1);
    vecF(`${name}_beta`, hidden, () => 0);
    node('LayerNormalization', [x, `${name}_gamma`, `${name}_beta`], [out], [attrInt('axis', -1), attrFloat('epsilon', 1e-12)]);
  };

  int64s('c_zero', [0]);
  int64s('c_one', [1]);
  int64s('axes12', [1, 2]);
  int64s('heads_shape', [0, 0, heads, headSize]);
  int64s('hidden_shape', [0, 0, hidden]);
  scalarF('f_one', 1);
  scalarF('f_mask_min', -10000);
  scalarF('f_sqrt_head', Math.sqrt(headSize));
  scalarF('f_sqrt2', Math.SQRT2);
  scalarF('f_half', 0.5);

  // Embeddings.
  embedding('word_embeddings', vocab, 'input_ids', 'e_word');
  embedding('token_type_embeddings', typeVocab, 'token_type_ids', 'e_type');
  node('Shape', ['input_ids'], ['ids_shape']);
  node('Gather', ['ids_shape', 'c_one'], ['seq_len1']);
  node('Squeeze', ['seq_len1', 'c_zero'], ['seq_len']);
  int64s('c_zero_s', [0]);
  int64s('c_one_s', [1]);
  // Range wants scalars: take them from 1-element tensors.
  node('Squeeze', ['c_zero_s', 'c_zero'], ['zero_s']);
  node('Squeeze', ['c_one_s', 'c_zero'], ['one_s']);
  node('Range', ['zero_s', 'seq_len', 'one_s'], ['position_ids']);
  embedding('position_embeddings', positions, 'position_ids', 'e_pos');
  node('Add', ['e_word', 'e_type'], ['e_sum0']);
  node('Add', ['e_sum0', 'e_pos'], ['e_sum']);
  layerNorm('e_sum', 'emb_ln', 'h0');

  // Additive attention mask [batch, 1, 1, seq]: 0 for tokens, −10000 for padding.
  node('Cast', ['attention_mask'], ['mask_f'], [attrInt('to', FLOAT)]);
  node('Unsqueeze', ['mask_f', 'axes12'], ['mask4']);
  node('Sub', ['f_one', 'mask4'], ['mask_inv']);
  node('Mul', ['mask_inv', 'f_mask_min'], ['mask_add']);

  let x = 'h0';
  for (let l = 0; l < layers; l++) {
    const p = `l${l}`;
    const xq = quantize(x);
    dense(x, xq, `${p}_q`, hidden, hidden, `${p}_Q`);
    dense(x, xq, `${p}_k`, hidden, hidden, `${p}_K`);
    dense(x, xq, `${p}_v`, hidden, hidden, `${p}_V`);
    node('Reshape', [`${p}_Q`, 'heads_shape'], [`${p}_Qh`]);
    node('Transpose', [`${p}_Qh`], [`${p}_Qt`], [attrInts('perm', [0, 2, 1, 3])]);
    node('Reshape', [`${p}_K`, 'heads_shape'], [`${p}_Kh`]);
    node('Transpose', [`${p}_Kh`], [`${p}_Kt`], [attrInts('perm', [0, 2, 3, 1])]);
    node('Reshape', [`${p}_V`, 'heads_shape'], [`${p}_Vh`]);
    node('Transpose', [`${p}_Vh`], [`${p}_Vt`], [attrInts('perm', [0, 2, 1, 3])]);
    node('MatMul', [`${p}_Qt`, `${p}_Kt`], [`${p}_scores0`]);
    node('Div', [`${p}_scores0`, 'f_sqrt_head'], [`${p}_scores1`]);
    node('Add', [`${p}_scores1`, 'mask_add'], [`${p}_scores`]);
    node('Softmax', [`${p}_scores`], [`${p}_probs`], [attrInt('axis', -1)]);
    node('MatMul', [`${p}_probs`, `${p}_Vt`], [`${p}_ctx0`]);
    node('Transpose', [`${p}_ctx0`], [`${p}_ctx1`], [attrInts('perm', [0, 2, 1, 3])]);
    node('Reshape', [`${p}_ctx1`, 'hidden_shape'], [`${p}_ctx`]);
    dense(`${p}_ctx`, quantize(`${p}_ctx`), `${p}_o`, hidden, hidden, `${p}_attn`);
    node('Add', [`${p}_attn`, x], [`${p}_res1`]);
    layerNorm(`${p}_res1`, `${p}_ln1`, `${p}_h1`);
    dense(`${p}_h1`, quantize(`${p}_h1`), `${p}_up`, hidden, intermediate, `${p}_ff0`);
    // GELU, erf form: x · 0.5 · (1 + erf(x / √2)).
    node('Div', [`${p}_ff0`, 'f_sqrt2'], [`${p}_g0`]);
    node('Erf', [`${p}_g0`], [`${p}_g1`]);
    node('Add', [`${p}_g1`, 'f_one'], [`${p}_g2`]);
    node('Mul', [`${p}_ff0`, `${p}_g2`], [`${p}_g3`]);
    node('Mul', [`${p}_g3`, 'f_half'], [`${p}_ff1`]);
    dense(`${p}_ff1`, quantize(`${p}_ff1`), `${p}_down`, intermediate, hidden, `${p}_ff2`);
    node('Add', [`${p}_ff2`, `${p}_h1`], [`${p}_res2`]);
    const outName = l === layers - 1 ? 'last_hidden_state' : `${p}_out`;
    layerNorm(`${p}_res2`, `${p}_ln2`, outName);
    x = outName;
  }

  const dims = (...names) => ({ dim: names.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) });
  const io = (name, elem_type, shape) => ({ name, type: { tensor_type: { elem_type, shape } } });
  return {
    ir_version: 8,
    producer_name: 'groundwork-makeBenchModel',
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: quantized ? 'bge_small_shape_int8' : 'bge_small_shape_fp32',
      node: nodes,
      initializer,
      input: [
        io('input_ids', INT64, dims('batch_size', 'sequence_length')),
        io('attention_mask', INT64, dims('batch_size', 'sequence_length')),
        io('token_type_ids', INT64, dims('batch_size', 'sequence_length')),
      ],
      output: [io('last_hidden_state', FLOAT, dims('batch_size', 'sequence_length', hidden))],
    },
  };
}

function parseArgs(argv) {
  const opts = { outDir: undefined, modelId: 'groundwork-bench/bge-small-en-v1.5-shape', prose: path.resolve('node_modules'), seed: 42, fp32: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model-id') opts.modelId = argv[++i];
    else if (a === '--prose') opts.prose = path.resolve(argv[++i]);
    else if (a === '--seed') opts.seed = Number(argv[++i]);
    else if (a === '--fp32') opts.fp32 = true;
    else if (!a.startsWith('--') && opts.outDir === undefined) opts.outDir = a;
    else throw new Error(`unknown argument: ${a}`);
  }
  if (!opts.outDir) throw new Error('usage: node scripts/makeBenchModel.mjs <outDir> [--model-id id] [--prose dir] [--seed n] [--fp32]');
  return opts;
}

/** Writes the model folder (`<outDir>/<modelId>/…`) and returns its path. */
export function makeBenchModel({ outDir, modelId = 'groundwork-bench/bge-small-en-v1.5-shape', prose = path.resolve('node_modules'), seed = 42, fp32 = false }) {
  const shape = BGE_SMALL;
  const vocab = buildBenchVocab(prose, shape.vocab);
  const root = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;
  const ModelProto = root.lookupType('onnx.ModelProto');
  const dir = path.join(outDir, ...modelId.split('/'));
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  fs.mkdirSync(path.join(dir, '1_Pooling'), { recursive: true });
  const write = (file, quantized) => {
    const model = buildGraph(shape, quantized, seededRandom(seed));
    const err = ModelProto.verify(model);
    if (err) throw new Error(`invalid ModelProto: ${err}`);
    fs.writeFileSync(path.join(dir, 'onnx', file), ModelProto.encode(ModelProto.fromObject(model)).finish());
  };
  write('model_quantized.onnx', true);
  if (fp32) write('model.onnx', false);
  const json = (name, value) => fs.writeFileSync(path.join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
  json('config.json', {
    model_type: 'bert',
    architectures: ['BertModel'],
    hidden_size: shape.hidden,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    intermediate_size: shape.intermediate,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    vocab_size: shape.vocab,
    max_position_embeddings: shape.positions,
    type_vocab_size: shape.typeVocab,
    pad_token_id: 0,
    groundwork_bench_model_version: BENCH_MODEL_VERSION,
  });
  json('tokenizer.json', tokenizerJson(vocab));
  json('tokenizer_config.json', {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: shape.positions,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
  });
  json('1_Pooling/config.json', { word_embedding_dimension: shape.hidden, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false });
  return dir;
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (invokedDirectly) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const started = performance.now();
    const dir = makeBenchModel(opts);
    const size = fs.statSync(path.join(dir, 'onnx', 'model_quantized.onnx')).size;
    console.log(`${dir} (model_quantized.onnx ${(size / 1024 / 1024).toFixed(1)} MB, ${Math.round(performance.now() - started)} ms)`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
