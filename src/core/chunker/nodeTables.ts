/** Syntax trees: node classification (declarations, containers, wrappers), symbol names and signatures. */
import type { Node } from 'web-tree-sitter';
import { MAX_SYMBOLS, type Ctx } from './emission';

/** Cap for one signature in a header. */
const MAX_SIGNATURE_CHARS = 160;

/** First line of a node (0-based). */
export function firstLine(n: Node): number {
  return n.startPosition.row;
}

/** Last line of a node: a node ending at column 0 (Rust `///`, Go statement lists) ends on the line before. */
export function lastLine(n: Node): number {
  const end = n.endPosition;
  return end.column === 0 && end.row > n.startPosition.row ? end.row - 1 : end.row;
}

export function isComment(type: string): boolean {
  return type.includes('comment');
}

// `/** … */`, `/*! … */`, `/// …`, `//! …`: comments written to document the next declaration.
export function isDocComment(text: string, n: Node): boolean {
  const head = text.slice(n.startIndex, n.startIndex + 4);
  return (head.startsWith('/**') && head !== '/**/') || head.startsWith('/*!') || head.startsWith('///') || head.startsWith('//!');
}

/** Nodes that belong to the declaration after them, even across a blank line. */
export const ATTACHED_FORWARD = new Set(['decorator', 'attribute_item', 'attribute_list', 'annotation', 'marker_annotation']);

/** Declarations whose name is a symbol. */
const DECLARATIONS = new Set([
  // TypeScript / JavaScript
  'function_declaration',
  'generator_function_declaration',
  'function_signature',
  'class_declaration',
  'abstract_class_declaration',
  'interface_declaration',
  'type_alias_declaration',
  'enum_declaration',
  'method_definition',
  'abstract_method_signature',
  'internal_module',
  'module',
  'variable_declarator',
  'public_field_definition',
  'field_definition',
  'assignment_expression',
  'class',
  // Python, C, C++, PHP
  'function_definition',
  'class_definition',
  'struct_specifier',
  'union_specifier',
  'enum_specifier',
  'class_specifier',
  'type_definition',
  'namespace_definition',
  'declaration',
  'field_declaration',
  'trait_declaration',
  // Go
  'method_declaration',
  'type_spec',
  'type_alias',
  // Rust
  'function_item',
  'function_signature_item',
  'struct_item',
  'enum_item',
  'union_item',
  'trait_item',
  'impl_item',
  'type_item',
  'mod_item',
  'macro_definition',
  // Java, C#
  'record_declaration',
  'annotation_type_declaration',
  'constructor_declaration',
  'struct_declaration',
  'namespace_declaration',
  'file_scoped_namespace_declaration',
  'delegate_declaration',
  // Ruby
  'method',
  'singleton_method',
]);

/** Declarations whose members' names are symbols of the chunk holding the whole declaration. */
const CONTAINERS = new Set([
  'class_declaration',
  'abstract_class_declaration',
  'class',
  'class_definition',
  'interface_declaration',
  'internal_module',
  'module',
  'impl_item',
  'trait_item',
  'mod_item',
  'class_specifier',
  'struct_specifier',
  'namespace_definition',
  'namespace_declaration',
  'file_scoped_namespace_declaration',
  'struct_declaration',
  'record_declaration',
  'enum_declaration',
  'trait_declaration',
  'annotation_type_declaration',
]);

/** Nodes looked through when searching for declarations (wrappers and class/namespace bodies). */
const TRANSPARENT = new Set([
  'export_statement',
  'ambient_declaration',
  'decorated_definition',
  'template_declaration',
  'lexical_declaration',
  'variable_declaration',
  'expression_statement',
  'type_declaration',
  'preproc_ifdef',
  'preproc_if',
  'preproc_else',
  'preproc_elif',
  'linkage_specification',
  'declaration_list',
  'class_body',
  'field_declaration_list',
  'block',
  'body_statement',
  'interface_body',
  'enum_body',
  'enum_body_declarations',
  'statement_block',
  'object_type',
]);

const FUNCTION_VALUES = new Set(['arrow_function', 'function_expression', 'function', 'generator_function', 'class', 'class_expression']);

/** `React.memo(function Item() {…})`, `forwardRef((props, ref) => …)`: a call whose argument is a function. */
function wrapsFunction(value: Node): boolean {
  if (value.type !== 'call_expression') return false;
  const args = value.childForFieldName('arguments');
  return !!args && args.namedChildren.some((a) => FUNCTION_VALUES.has(a.type));
}

function cleanName(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 120 ? t.slice(0, 120) : t;
}

/** Follows `declarator` fields (pointers, references, function declarators) to the declared name. */
function declaratorName(node: Node, requireFunction: boolean): string | null {
  let d = node.childForFieldName('declarator');
  let sawFunction = false;
  while (d) {
    if (d.type === 'function_declarator') sawFunction = true;
    // C++ reference declarators (`T& f()`) hold their inner declarator without a field name.
    const inner = d.childForFieldName('declarator') ?? (d.type === 'reference_declarator' ? (d.namedChildren.find((c) => c.type.endsWith('declarator')) ?? null) : null);
    if (!inner) break;
    d = inner;
  }
  if (!d || (requireFunction && !sawFunction)) return null;
  return cleanName(d.text);
}

function declarationName(node: Node): string | null {
  switch (node.type) {
    case 'impl_item': {
      const t = node.childForFieldName('type');
      return t ? cleanName(t.text) : null;
    }
    case 'function_definition': {
      const name = node.childForFieldName('name');
      return name ? cleanName(name.text) : declaratorName(node, false);
    }
    case 'declaration':
    case 'field_declaration':
      // Only prototypes (`int f(void);`, a method declared in a C++ class): plain variables and
      // fields are not worth a symbol.
      return declaratorName(node, true);
    case 'type_definition':
      return declaratorName(node, false);
    case 'variable_declarator':
    case 'public_field_definition':
    case 'field_definition': {
      const value = node.childForFieldName('value');
      if (!value || !(FUNCTION_VALUES.has(value.type) || wrapsFunction(value))) return null;
      const name = node.childForFieldName('name') ?? node.childForFieldName('property');
      return name ? cleanName(name.text) : null;
    }
    case 'assignment_expression': {
      // CommonJS style: `Runner.prototype.run = function () {}`, `exports.foo = () => {}`.
      const right = node.childForFieldName('right');
      const left = node.childForFieldName('left');
      if (!right || !left || !FUNCTION_VALUES.has(right.type)) return null;
      return cleanName(left.text);
    }
    case 'struct_specifier':
    case 'union_specifier':
    case 'enum_specifier':
    case 'class_specifier': {
      // `struct foo *p;` mentions a type; only a body defines it.
      if (!node.childForFieldName('body')) return null;
      const name = node.childForFieldName('name');
      return name ? cleanName(name.text) : null;
    }
    default: {
      const name = node.childForFieldName('name');
      return name ? cleanName(name.text) : null;
    }
  }
}

/** Adds the names node declares; with members, also those of declarations nested in classes etc. */
export function collectSymbols(node: Node, out: string[], members: boolean, depth = 0): void {
  if (out.length >= MAX_SYMBOLS || depth > 8 || !node.isNamed) return;
  const type = node.type;
  if (DECLARATIONS.has(type)) {
    const name = declarationName(node);
    if (name) out.push(name);
    // `struct point { … } origin;`, a nested C++ class (`class Row { … };` is a field declaration):
    // the type defined inline is the interesting name.
    if (!name && (type === 'declaration' || type === 'field_declaration')) {
      const inline = node.childForFieldName('type');
      if (inline) collectSymbols(inline, out, members, depth + 1);
    }
    if (members && CONTAINERS.has(type)) {
      for (const child of node.namedChildren) collectSymbols(child, out, members, depth + 1);
    }
    return;
  }
  if (TRANSPARENT.has(type) || (depth > 0 && type.endsWith('_body'))) {
    for (const child of node.namedChildren) collectSymbols(child, out, members, depth + 1);
  }
}

export function symbolsOf(nodes: readonly Node[]): string[] {
  const out: string[] = [];
  for (const n of nodes) collectSymbols(n, out, true);
  return out;
}

/** Where a declaration's signature starts: after its leading comments, decorators and annotations. */
function signatureStart(node: Node): number {
  for (const child of node.children) {
    const t = child.type;
    if (isComment(t) || ATTACHED_FORWARD.has(t)) continue;
    if (t === 'modifiers') {
      // Java puts annotations inside `modifiers`; the signature starts at the first keyword.
      const keyword = child.children.find((m) => !ATTACHED_FORWARD.has(m.type) && !isComment(m.type));
      if (keyword) return keyword.startIndex;
      continue;
    }
    return child.startIndex;
  }
  return node.startIndex;
}

/**
 * One-line signature of `node`, whose body is `body`: `export class Foo extends Bar`,
 * `def save(self, item)`. `passed` are the nodes before the body on the way down from `node`; the
 * signature ends with the last of them that is not a comment (Ruby and Python keep comments
 * between the signature and the body).
 */
export function signature(ctx: Ctx, node: Node, body: Node, passed: readonly Node[]): string {
  const from = signatureStart(node);
  let end = from;
  for (const n of passed) {
    if (!isComment(n.type) && n.startIndex >= from && n.endIndex > end) end = n.endIndex;
  }
  const to = Math.min(end > from ? end : body.startIndex, from + 4 * MAX_SIGNATURE_CHARS);
  if (to <= from) return '';
  let sig = ctx.lines.text
    .slice(from, to)
    // Comments between the name and the body (JSDoc on an argument, `// TODO`) are noise here.
    .replace(/\/\*[\s\S]*?(\*\/|$)/g, ' ')
    .replace(/(^|\s)\/\/[^\n]*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  sig = sig.replace(/\s*[{:]$/, '').trim();
  if (sig.length > MAX_SIGNATURE_CHARS) sig = `${sig.slice(0, MAX_SIGNATURE_CHARS - 1)}…`;
  return sig;
}
