/** Syntax trees: chunking. Sibling nodes become units that are packed within the budget; oversized ones are split recursively. */
import type { Node } from 'web-tree-sitter';
import { emit, HEADER_SEPARATOR, lineSplit, type Ctx } from './emission';
import { ATTACHED_FORWARD, collectSymbols, firstLine, isComment, isDocComment, lastLine, signature, symbolsOf } from './nodeTables';

/** Recursion guard for pathological nesting; deeper ranges are line-split. */
const MAX_DEPTH = 48;
/** Cap for a whole header (path and signatures), reached only by deep nesting. */
const MAX_HEADER_CHARS = 400;

/** A contiguous line range holding whole sibling nodes; the unit of packing. */
interface Unit {
  start: number;
  end: number;
  nodes: Node[];
  /** The largest node that is neither a comment nor attached to another: what gets split. */
  main: Node | null;
  /** Holds nodes grouped for readability (a declaration's prefix, closing tokens), not by attachment. */
  grouped: boolean;
}

const enum Mode {
  /** Attach comments/decorators, and glue a split declaration's prefix to its first member. */
  Grouped,
  /** Attach comments/decorators only (used to re-split a grouped unit that turned out too big). */
  AttachOnly,
}

/**
 * Turns sibling nodes into units partitioning lines start..end:
 * - comments directly above a node (no blank line between) and decorators/attributes attach to it;
 *   a comment on the line where the previous node ends stays with that node;
 * - anonymous tokens (`}`, `end`, `;`) stay with the node before them;
 * - in Grouped mode the first `prefixCount` nodes (a split declaration's decorators, keywords, name
 *   and parameters) attach to the first member after them, so the signature opens the first piece;
 * - nodes sharing a line are kept in one unit: the shared line goes to the earlier unit;
 * - gaps (blank lines) go to the unit before them; the first unit starts at `start`.
 */
function buildUnits(ctx: Ctx, kids: readonly Node[], start: number, end: number, mode: Mode, prefixCount: number): Unit[] {
  const units: Unit[] = [];
  let pending: Node[] = [];
  let pendingStart = -1;
  let pendingEnd = -1;
  let pendingCommentsOnly = true;
  let pendingGrouped = false;
  /** The last pending comment is a doc comment: it documents what follows even across a blank line. */
  let pendingDoc = false;
  const { lines } = ctx;

  const flushPendingAsUnit = (): void => {
    if (!pending.length) return;
    units.push({ start: pendingStart, end: pendingEnd, nodes: pending, main: null, grouped: pendingGrouped });
    pending = [];
    pendingCommentsOnly = true;
    pendingGrouped = false;
    pendingDoc = false;
  };
  const addPending = (n: Node, s: number, e: number, comment: boolean, grouped: boolean): void => {
    if (!pending.length) pendingStart = s;
    pending.push(n);
    pendingEnd = Math.max(pendingEnd, e);
    if (!comment) pendingCommentsOnly = false;
    if (grouped) pendingGrouped = true;
    pendingDoc = false;
  };

  for (let idx = 0; idx < kids.length; idx++) {
    const kid = kids[idx];
    if (!kid || kid.startIndex === kid.endIndex) continue; // MISSING tokens have no text
    let s = firstLine(kid);
    let e = lastLine(kid);
    if (e < start || s > end) continue;
    if (s < start) s = start;
    if (e > end) e = end;
    const prev = units[units.length - 1];
    const lastTaken = pending.length ? pendingEnd : (prev?.end ?? start - 1);
    if (e <= lastTaken) {
      // Entirely on lines already taken (same-line neighbours, trailing comments).
      if (pending.length) pending.push(kid);
      else if (prev) {
        prev.nodes.push(kid);
        if (!isComment(kid.type)) prev.grouped = true;
      }
      continue;
    }
    if (s <= lastTaken) s = lastTaken + 1;
    const type = kid.type;
    const comment = isComment(type);
    const isPrefix = mode === Mode.Grouped && idx < prefixCount;
    if (!kid.isNamed && !isPrefix) {
      if (prev && !pending.length) {
        prev.end = e;
        prev.nodes.push(kid);
        prev.grouped = true;
      } else {
        addPending(kid, s, e, false, true);
      }
      continue;
    }
    if (comment && !isPrefix) {
      // A blank line between comments ends the earlier run's claim on what follows.
      if (pending.length && pendingCommentsOnly && !pendingDoc && lines.hasBlankBetween(pendingEnd, s)) {
        flushPendingAsUnit();
      }
      addPending(kid, s, e, true, false);
      pendingDoc = isDocComment(lines.text, kid);
      continue;
    }
    if (isPrefix || ATTACHED_FORWARD.has(type)) {
      addPending(kid, s, e, false, isPrefix);
      continue;
    }
    if (pending.length && pendingCommentsOnly && !pendingDoc && lines.hasBlankBetween(pendingEnd, s)) {
      flushPendingAsUnit();
    }
    if (pending.length) {
      units.push({ start: pendingStart, end: e, nodes: [...pending, kid], main: kid, grouped: pendingGrouped });
      pending = [];
      pendingCommentsOnly = true;
      pendingGrouped = false;
      pendingDoc = false;
    } else {
      units.push({ start: s, end: e, nodes: [kid], main: kid, grouped: false });
    }
  }
  if (pending.length) {
    const prev = units[units.length - 1];
    if (prev && !pendingCommentsOnly) {
      prev.end = pendingEnd;
      prev.nodes.push(...pending);
      prev.grouped = true;
      pending = [];
    } else {
      flushPendingAsUnit();
    }
  }
  // Main = the largest non-comment named node (a unit can gather several on shared lines).
  for (const u of units) {
    let best: Node | null = null;
    for (const n of u.nodes) {
      if (!n.isNamed || isComment(n.type)) continue;
      if (!best || n.endIndex - n.startIndex > best.endIndex - best.startIndex) best = n;
    }
    u.main = best;
  }
  // Contiguous partition of start..end.
  const first = units[0];
  if (first) first.start = start;
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    const next = units[i + 1];
    if (u) u.end = next ? next.start - 1 : end;
  }
  return units;
}

/** Chunks lines start..end covered by sibling nodes: packs units, splits the oversized ones. */
function chunkNodes(ctx: Ctx, kids: readonly Node[], start: number, end: number, header: string, mode: Mode, prefixCount: number, depth: number): void {
  const units = buildUnits(ctx, kids, start, end, mode, prefixCount);
  if (!units.length) {
    lineSplit(ctx, start, end, header, []);
    return;
  }
  const { lines, budget } = ctx;
  let accStart = -1;
  let accEnd = -1;
  let accNodes: Node[] = [];
  const flush = (): void => {
    if (accStart !== -1) emit(ctx, accStart, accEnd, header, symbolsOf(accNodes));
    accStart = -1;
    accNodes = [];
  };
  for (const u of units) {
    if (u.end < u.start) continue;
    if (lines.size(u.start, u.end) > budget) {
      flush();
      splitUnit(ctx, u, header, mode, depth);
    } else if (accStart !== -1 && lines.size(accStart, u.end) <= budget) {
      accEnd = u.end;
      accNodes.push(...u.nodes);
    } else {
      flush();
      accStart = u.start;
      accEnd = u.end;
      accNodes = [...u.nodes];
    }
  }
  flush();
}

function splitUnit(ctx: Ctx, u: Unit, header: string, mode: Mode, depth: number): void {
  if (u.start === u.end || depth > MAX_DEPTH) {
    lineSplit(ctx, u.start, u.end, header, symbolsOf(u.nodes));
  } else if (mode === Mode.Grouped && u.grouped && u.nodes.length > 1) {
    // The grouping made it too big (e.g. a long signature plus a huge first member): retry with
    // attachment only; every node then stands alone or with its comments.
    chunkNodes(ctx, u.nodes, u.start, u.end, header, Mode.AttachOnly, 0, depth + 1);
  } else if (u.main && u.main.childCount > 0) {
    splitNode(ctx, u.main, u.start, u.end, header, depth + 1);
  } else {
    lineSplit(ctx, u.start, u.end, header, symbolsOf(u.nodes));
  }
}

/**
 * Splits one oversized node over lines start..end (which may include its comments above it).
 *
 * Wrappers are looked through first: `export_statement > class_declaration > class_body`, an IIFE
 * `(function () { … })()`, `describe('x', () => { … })`. At each level we go into the `body` field
 * when it holds most of the node (and stop there: its children are the members), or else into a
 * child holding ≥ 60% of it. The nodes passed on the way (decorators, keywords, name, parameters,
 * closing tokens) stay in the list, so nothing is lost; the text from the signature start to the
 * body becomes one more header element.
 */
function splitNode(ctx: Ctx, node: Node, start: number, end: number, header: string, depth: number): void {
  let cur = node;
  const before: Node[] = [];
  let after: Node[] = [];
  for (let level = 0; level < 16; level++) {
    const kids = cur.children;
    const size = cur.endIndex - cur.startIndex;
    let nextIdx = -1;
    let isBody = false;
    const body = cur.childForFieldName('body');
    if (body && body.childCount > 0 && (body.endIndex - body.startIndex) * 10 >= size * 4) {
      nextIdx = kids.findIndex((k) => k.startIndex === body.startIndex && k.endIndex === body.endIndex && k.typeId === body.typeId);
      isBody = nextIdx !== -1;
    }
    if (nextIdx === -1) {
      let best = -1;
      let bestSize = -1;
      kids.forEach((k, i) => {
        const ks = k.endIndex - k.startIndex;
        if (ks > bestSize) {
          best = i;
          bestSize = ks;
        }
      });
      const cand = kids[best];
      if (cand && cand.childCount > 0 && bestSize * 10 >= size * 6) nextIdx = best;
    }
    const next = kids[nextIdx];
    if (!next) break;
    before.push(...kids.slice(0, nextIdx));
    after = [...kids.slice(nextIdx + 1), ...after];
    cur = next;
    if (isBody) break;
  }
  let childHeader = header || ctx.path;
  if (cur !== node) {
    const sig = signature(ctx, node, cur, before);
    if (sig) childHeader = appendToHeader(childHeader, sig);
  }
  const own: string[] = [];
  collectSymbols(node, own, false);
  ctx.pendingSymbols.push(...own);
  const list = cur === node ? cur.children : [...before, ...cur.children, ...after];
  chunkNodes(ctx, list, start, end, childHeader, Mode.Grouped, cur === node ? 0 : before.length, depth);
}

/**
 * Adds a signature to a header. Deep nesting (callbacks in callbacks, minified code) would grow it
 * without bound: past {@link MAX_HEADER_CHARS} the middle signatures give way to `…`, keeping the
 * path, the outermost declaration and the innermost ones, which matter most for reading a piece.
 */
function appendToHeader(header: string, sig: string): string {
  const full = header + HEADER_SEPARATOR + sig;
  if (full.length <= MAX_HEADER_CHARS) return full;
  const parts = full.split(HEADER_SEPARATOR);
  // parts[0] is the path, parts[1] the outermost signature; drop from parts[2] on.
  while (parts.length > 4 && parts.join(HEADER_SEPARATOR).length > MAX_HEADER_CHARS) {
    if (parts[2] === '…') parts.splice(3, 1);
    else parts[2] = '…';
  }
  return parts.join(HEADER_SEPARATOR);
}

/**
 * Share of the file's characters inside ERROR nodes; walks only the subtrees that contain errors.
 * Characters rather than lines: in a 3-line declaration file, one stray token on a long line would
 * otherwise count as a third of the file.
 */
export function errorShare(root: Node, textLength: number): number {
  let inError = 0;
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop();
    if (!n) break;
    // ERROR nodes are not searched further: nested errors are already counted.
    if (n.isError) inError += n.endIndex - n.startIndex;
    else if (n.hasError) stack.push(...n.children);
  }
  return textLength ? inError / textLength : 0;
}

/** Chunks a whole parse tree into ctx. */
export function chunkSyntaxTree(ctx: Ctx, root: Node): void {
  chunkNodes(ctx, root.children, 0, ctx.lines.count - 1, '', Mode.Grouped, 0, 0);
}
