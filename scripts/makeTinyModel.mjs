// @ts-check
// Writes a tiny BERT-shaped embedding model with random weights, laid out the way transformers.js
// reads a local model (<outDir>/<modelId>/...), so tests exercise the real load → tokenize → infer →
// pool → normalise path without downloading weights.
//
//   node scripts/makeTinyModel.mjs <outDir> [--model-id groundwork/tiny-bert] [--hidden 32] [--seed 42]
//
// Output (deterministic for a given seed and size):
//   <outDir>/<modelId>/config.json             model_type "bert", hidden_size, ...
//   <outDir>/<modelId>/tokenizer.json          lowercasing WordPiece tokenizer over code-ish words
//   <outDir>/<modelId>/tokenizer_config.json   BertTokenizer, model_max_length 512
//   <outDir>/<modelId>/onnx/model.onnx         fp32 graph (dtype "fp32")
//   <outDir>/<modelId>/onnx/model_quantized.onnx  the same graph under the name dtype "q8" loads
//
// The graph: word + position + token-type embeddings → LayerNorm → one mixing layer (each token plus
// a projection of the attention-masked mean of the sequence, through Tanh) → LayerNorm →
// last_hidden_state [batch, seq, hidden]. Padding changes nothing for real tokens because the mean
// honours attention_mask, as in a real encoder. Weights are random, so vectors carry no meaning, only
// the right shapes and determinism.
//
// ONNX is protobuf; the schema below is the subset of onnx.proto this graph needs (field numbers
// as in the ONNX specification), encoded with protobufjs.
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { seededRandom } from '../src/core/random.mjs';

/**
 * The subset of onnx.proto the generated graphs need (also used by scripts/makeBenchModel.mjs).
 * `raw_data` carries large initializers as little-endian bytes; the tiny model never sets it.
 */
export const ONNX_SUBSET = `
syntax = "proto3";
package onnx;
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4;
  repeated int64 int64_data = 7;
  string name = 8;
  bytes raw_data = 9;
}
message AttributeProto {
  string name = 1;
  float f = 2;
  int64 i = 3;
  repeated int64 ints = 8;
  int32 type = 20;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
}
message TensorShapeProto {
  message Dimension { int64 dim_value = 1; string dim_param = 2; }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  Tensor tensor_type = 1;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;

const FLOAT = 1;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;

/** Positions the model accepts; matches tokenizer_config.model_max_length so truncation is the limit. */
const MAX_POSITIONS = 512;

export const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

// Words that show up in code and in questions about code, so typical chunks tokenize into whole
// words rather than only single letters.
const WORDS = `
a an and are as at be by can do does for from get has have how if in into is it its make not of on
or set should that the then this to use uses used using was what when where which while who why will
with without after before between each every all any some new old first last next other same
function func fn def class interface type enum struct trait impl module package import export from
return returns async await yield const let var static public private protected readonly abstract
extends implements override super self this null undefined none true false nil void int string
number boolean bool float double char byte bytes list array map set dict tuple object record vec
slice option result error errors exception throw throws try catch finally raise panic assert
test tests spec describe it expect mock fixture setup teardown case check verify validate
file files path paths dir directory folder read write open close save load store delete remove
create update insert upsert select query find search index indexes lookup fetch request response
http https url uri route router routes handler handlers middleware server client api endpoint
rest json yaml xml csv html css text line lines word words token tokens session sessions cookie
auth authenticate authentication login logout user users account password passwords hash hashing
salt secret key keys sign signed signature verify verified expire expired expiry ttl time timeout
date clock timer interval delay retry retries limit limits rate throttle burst quota plan
cache cached memory disk buffer stream pipe queue stack heap tree node nodes graph edge parent
child children root leaf sort sorted order filter reduce count sum min max average size length
start end begin stop run running runs job jobs task tasks worker workers thread threads process
lock mutex atomic rename temp temporary crash safe config configuration option options setting
settings env environment deploy deployment build release version docker container service health
healthcheck status ok fail failed failure success log logs logger logging debug info warn warning
parse parser parsing format encode decode serialize deserialize convert copy clone merge split
join chunk chunks batch batches page pages offset cursor id ids name names value values item items
todo todos done pending complete owner tenant org admin role roles permission permissions scope
event events emit listener callback promise future channel message messages send receive notify
email mail template render view model models controller component state props context hook
input output args arg param params argument arguments default defaults flag flags main init
exit code codes byte bits integer random seed generate generator iterator loop for each range
python go rust java typescript javascript ruby php sql database db table row rows column columns
schema migration transaction commit rollback connection pool driver
`
  .split(/\s+/)
  .filter(Boolean);

const SUFFIXES = ['s', 'es', 'ed', 'ing', 'er', 'ers', 'or', 'ion', 'tion', 'ly', 'able', 'ment', 'ness', 'ize', 'ized', 'y', 'al'];

/** Deterministic vocabulary: specials, characters, suffix pieces, words, then every two-letter piece. */
function buildVocab() {
  const vocab = new Map();
  const add = (t) => {
    if (!vocab.has(t)) vocab.set(t, vocab.size);
  };
  SPECIAL.forEach(add);
  const chars = [...'abcdefghijklmnopqrstuvwxyz0123456789', ...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];
  chars.forEach(add);
  chars.forEach((c) => add(`##${c}`));
  SUFFIXES.forEach((s) => add(`##${s}`));
  WORDS.forEach(add);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (const x of letters) for (const y of letters) add(`##${x}${y}`);
  return vocab;
}

function parseArgs(argv) {
  const opts = { outDir: undefined, modelId: 'groundwork/tiny-bert', hidden: 32, seed: 42 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model-id') opts.modelId = argv[++i];
    else if (a === '--hidden') opts.hidden = Number(argv[++i]);
    else if (a === '--seed') opts.seed = Number(argv[++i]);
    else if (!a.startsWith('--') && opts.outDir === undefined) opts.outDir = a;
    else throw new Error(`unknown argument: ${a}`);
  }
  if (!opts.outDir) throw new Error('usage: node scripts/makeTinyModel.mjs <outDir> [--model-id id] [--hidden n] [--seed n]');
  if (!Number.isInteger(opts.hidden) || opts.hidden < 2) throw new Error('--hidden must be an integer ≥ 2');
  return opts;
}

/** Builds the ONNX ModelProto object (plain JS, encoded by protobufjs). */
function buildGraph(vocabSize, hidden, random) {
  const gaussian = (scale) => {
    // Box-Muller; 1 - u keeps log() finite.
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * scale;
  };
  const floats = (name, dims, scale) => {
    const n = dims.reduce((x, y) => x * y, 1);
    const data = new Array(n);
    for (let i = 0; i < n; i++) data[i] = gaussian(scale);
    return { name, dims, data_type: FLOAT, float_data: data };
  };
  const constFloats = (name, dims, value) => ({ name, dims, data_type: FLOAT, float_data: new Array(dims.reduce((x, y) => x * y, 1)).fill(value) });
  const int64s = (name, dims, values) => ({ name, dims, data_type: INT64, int64_data: values });
  const node = (op_type, input, output, attribute = []) => ({ op_type, input, output, name: `${op_type}_${output[0]}`, attribute });
  const attrInt = (name, i) => ({ name, type: ATTR_INT, i });
  const attrFloat = (name, f) => ({ name, type: ATTR_FLOAT, f });

  const initializer = [
    floats('word_embeddings', [vocabSize, hidden], 1),
    floats('position_embeddings', [MAX_POSITIONS, hidden], 0.3),
    floats('token_type_embeddings', [2, hidden], 0.3),
    constFloats('ln1_scale', [hidden], 1),
    constFloats('ln1_bias', [hidden], 0),
    floats('mix_weight', [hidden, hidden], 1 / Math.sqrt(hidden)),
    floats('ctx_weight', [hidden, hidden], 1 / Math.sqrt(hidden)),
    floats('mix_bias', [hidden], 0.1),
    constFloats('ln2_scale', [hidden], 1),
    constFloats('ln2_bias', [hidden], 0),
    int64s('zero', [], [0]),
    int64s('one', [], [1]),
    int64s('axis1', [1], [1]),
    int64s('axis2', [1], [2]),
  ];
  const nodes = [
    // Embeddings: word + token type + position (positions 0..seq-1 from the input's shape).
    node('Gather', ['word_embeddings', 'input_ids'], ['word']),
    node('Gather', ['token_type_embeddings', 'token_type_ids'], ['tok_type']),
    node('Shape', ['input_ids'], ['ids_shape']),
    node('Gather', ['ids_shape', 'one'], ['seq_len'], [attrInt('axis', 0)]),
    node('Range', ['zero', 'seq_len', 'one'], ['positions']),
    node('Gather', ['position_embeddings', 'positions'], ['pos']),
    node('Add', ['word', 'tok_type'], ['emb0']),
    node('Add', ['emb0', 'pos'], ['emb']),
    node('LayerNormalization', ['emb', 'ln1_scale', 'ln1_bias'], ['x'], [attrInt('axis', -1), attrFloat('epsilon', 1e-12)]),
    // Masked mean of the sequence: the only place tokens see each other, and padding is excluded.
    node('Cast', ['attention_mask'], ['mask_f'], [attrInt('to', FLOAT)]),
    node('Unsqueeze', ['mask_f', 'axis2'], ['mask3']),
    node('Mul', ['x', 'mask3'], ['x_masked']),
    node('ReduceSum', ['x_masked', 'axis1'], ['x_sum'], [attrInt('keepdims', 1)]),
    node('ReduceSum', ['mask3', 'axis1'], ['mask_sum'], [attrInt('keepdims', 1)]),
    node('Div', ['x_sum', 'mask_sum'], ['ctx']),
    // One mixing layer with a residual connection.
    node('MatMul', ['x', 'mix_weight'], ['h_tok']),
    node('MatMul', ['ctx', 'ctx_weight'], ['h_ctx']),
    node('Add', ['h_tok', 'h_ctx'], ['h_sum']),
    node('Add', ['h_sum', 'mix_bias'], ['h_biased']),
    node('Tanh', ['h_biased'], ['h']),
    node('Add', ['x', 'h'], ['res']),
    node('LayerNormalization', ['res', 'ln2_scale', 'ln2_bias'], ['last_hidden_state'], [attrInt('axis', -1), attrFloat('epsilon', 1e-12)]),
  ];
  const dims = (...names) => ({ dim: names.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) });
  const io = (name, elem_type, shape) => ({ name, type: { tensor_type: { elem_type, shape } } });
  return {
    ir_version: 8,
    producer_name: 'groundwork-makeTinyModel',
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'tiny_bert',
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

/** tokenizer.json for a lowercasing BERT WordPiece tokenizer over `vocab` (token → id, specials included). */
export function tokenizerJson(vocab) {
  const id = (t) => vocab.get(t);
  const special = (t) => ({ SpecialToken: { id: t, type_id: 0 } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content) => ({ id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]')],
      pair: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]'), { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab) },
  };
}

/**
 * Writes the model folder and returns its path. Exported for scripts that import this module;
 * tests run it as a child process.
 */
export function makeTinyModel({ outDir, modelId = 'groundwork/tiny-bert', hidden = 32, seed = 42 }) {
  const vocab = buildVocab();
  const root = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;
  const ModelProto = root.lookupType('onnx.ModelProto');
  const model = buildGraph(vocab.size, hidden, seededRandom(seed));
  const err = ModelProto.verify(model);
  if (err) throw new Error(`invalid ModelProto: ${err}`);
  const bytes = ModelProto.encode(ModelProto.fromObject(model)).finish();

  const dir = path.join(outDir, ...modelId.split('/'));
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), bytes);
  fs.writeFileSync(path.join(dir, 'onnx', 'model_quantized.onnx'), bytes);
  const json = (name, value) => fs.writeFileSync(path.join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
  json('config.json', {
    model_type: 'bert',
    architectures: ['BertModel'],
    hidden_size: hidden,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    intermediate_size: hidden,
    vocab_size: vocab.size,
    max_position_embeddings: MAX_POSITIONS,
    type_vocab_size: 2,
    pad_token_id: 0,
  });
  json('tokenizer.json', tokenizerJson(vocab));
  json('tokenizer_config.json', {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: MAX_POSITIONS,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
  });
  return dir;
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (invokedDirectly) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const started = performance.now();
    const dir = makeTinyModel(opts);
    const size = fs.statSync(path.join(dir, 'onnx', 'model.onnx')).size;
    console.log(`${dir} (model.onnx ${(size / 1024).toFixed(0)} KB, ${Math.round(performance.now() - started)} ms)`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
