/**
 * Grounded answers: question → standalone query → retrieval → numbered sources → model (or the
 * extractive answer) → verified citations. Both front ends render the {@link AnswerResult}.
 *
 * Invariant: every citation in a result points at a source that was in the prompt (or the extractive
 * answer), and is verified against the file as it is now before it is shown as a link.
 */
import { verifyCitations, type Citation, type Source } from './citations';
import { renderExtractiveAnswer, NO_MODEL_NOTE } from './extractive';
import { LlmError, type ChatMessage, type LlmProvider } from './llm';
import { buildMessages, condenseMessages, selectSources } from './prompt';
import type { FusionWeights, SearchHit } from './retrieval';
import { searchWithFallback } from './resilientSearch';
import { codeTerms, isStopword } from './tokenize';
import type { SearchableIndex } from './indexStore';
import { vectorCoverage, type VectorCoverage } from './vectorCoverage';

/**
 * What the answer pipeline needs from an index. {@link localRetriever} implements it over an open
 * {@link SearchableIndex} (a local index folder or a shared store's snapshot); the extension implements it over its index worker, so answering runs on
 * the extension host while indexing and retrieval run off it.
 */
export interface AnswerRetriever {
  /** Best hits for a query and how well they cover it (see {@link retrievalCoverage}). */
  retrieve(query: string, k: number, signal?: AbortSignal): Promise<{ hits: SearchHit[]; coverage: number; vectors?: VectorCoverage }>;
  /** The most informative terms of a text (for model-free follow-up rewriting). */
  salientTerms(text: string, max: number): Promise<string[]>;
  /** Absolute file of an index path, or undefined when it is not inside a workspace root. */
  absolutePath(indexPath: string): string | undefined;
}

export function localRetriever(index: SearchableIndex, fusion?: FusionWeights): AnswerRetriever {
  return {
    async retrieve(query, k, signal) {
      const { hits, lexicalFallback } = await searchWithFallback(index, query, { k, signal, ...fusion });
      const vectors: VectorCoverage = lexicalFallback ? { mode: 'keyword', withVectors: 0, hits: hits.length } : vectorCoverage(index, hits);
      return { hits, coverage: retrievalCoverage(index, query, hits), vectors };
    },
    async salientTerms(text, max) {
      // A store that fetches per search (a shared snapshot) fetches the text's terms first.
      const prepared = await index.prepare?.(codeTerms(text));
      try {
        return salientTerms(index, text, max);
      } finally {
        prepared?.release();
      }
    },
    absolutePath: (p) => index.absolutePath(p),
  };
}

export interface Turn {
  question: string;
  answer: string;
}

/**
 * Below this retrieval coverage an answer is flagged as weak context: the workspace may not contain
 * the answer. Calibrated on real repositories (`node out/scripts/calibrate.js --bench`): the dev
 * bench's 60 answerable questions on two JavaScript/TypeScript repositories against 20 questions
 * they cannot answer (eval/unanswerable-bench.jsonl). At 0.40 it fires on 4/60 answerable questions
 * (7%; the target is at most 10%) and catches 9/20 unanswerable ones; the earlier 0.60, chosen on
 * a corpus without tests or docs, fired on 20/60 (33%). Re-calibrated whenever retrieval changes
 * (the first five sources are what it reads). See docs/evaluation.md.
 */
export const WEAK_CONTEXT_THRESHOLD = 0.4;

/**
 * Longest model answer kept, in characters (default 100,000, ~25k tokens: far beyond any grounded
 * answer). The rest of the stream is dropped and the answer says it was cut, so a runaway or hostile
 * server cannot make the result (and its citation list) unbounded.
 */
export const MAX_ANSWER_CHARS = 100_000;

export interface AnswerOptions {
  /** The model; undefined means the extractive answer. */
  llm?: LlmProvider;
  history?: readonly Turn[];
  /** Hits retrieved before fitting the context (default 10). */
  k?: number;
  /** Token budget for the sources (default from prompt.ts). */
  contextTokens?: number;
  signal?: AbortSignal;
  /** Receives answer text as it streams (the extractive answer arrives in one piece). */
  onToken?: (delta: string) => void;
  /** Note appended to extractive answers (front ends say how to configure a model there). */
  noModelNote?: string;
  /**
   * Note of the extractive answer given when the model failed, from the error message. The default
   * repeats the message; a front end that shows the error separately passes a shorter note.
   */
  modelErrorNote?: (message: string) => string;
  /** Called once the sources are chosen, before the model is asked (front ends show "Answering…"). */
  onSources?: (sources: readonly Source[]) => void;
  /**
   * Code the user attached (a selection). Its text joins the retrieval query after the follow-up
   * rewrite (which sees only the question) and is shown to the model with the question.
   */
  attachment?: { path: string; startLine: number; endLine: number; text: string };
  weakContextThreshold?: number;
}

export interface AnswerResult {
  question: string;
  /** The query used for retrieval (differs from the question for follow-ups). */
  query: string;
  answer: string;
  citations: Citation[];
  citationIntegrity: { verified: number; stale: number; invalid: number; unsupported: number; total: number; ratio: number };
  /** The sources given to the model, in prompt order, with scores and retrievers. */
  sources: Source[];
  flags: {
    /** Retrieval found nothing convincing; the answer says so. */
    weakContext: boolean;
    /** At least one cited file changed since it was indexed. */
    stale: boolean;
    /** Some retrieved sources did not fit the context budget. */
    truncated: boolean;
    /** The model's stream was cut midway; `answer` holds the partial text. */
    cut: boolean;
    /** No model was used: the answer quotes the sources. */
    extractive: boolean;
  };
  /** How well the sources cover the question's informative terms (0-1). */
  coverage: number;
  /** Which results vectors could rank (keyword-only while they are being computed), when the retriever says. */
  search?: VectorCoverage;
  provider: { id: string; label: string; remote: boolean };
  /** A model error that made the answer fall back to quoting, or cut it short. */
  error?: { kind: string; message: string };
  /** The exact messages sent to the model (empty for extractive answers). */
  messages: ChatMessage[];
  timings: { retrieveMs: number; generateMs: number; totalMs: number };
}

/** Openings that continue the previous question ("and the tests?", "what about Go?"). */
const FOLLOW_UP = /^\s*(and|also|then|what about|how about)\b/i;
const PRONOUN = /\b(it|its|this|that|these|those|they|them|there|he|she|the same|above|previous)\b/i;

/** The most informative terms of a text, by inverse document frequency in the index. */
export function salientTerms(index: SearchableIndex, text: string, max: number): string[] {
  const seen = new Set<string>();
  const scored: Array<[string, number]> = [];
  for (const t of codeTerms(text)) {
    if (seen.has(t) || isStopword(t) || t.length < 3) continue;
    seen.add(t);
    const df = index.lexical.documentFrequency(t);
    if (!df) continue;
    scored.push([t, -Math.log(df / Math.max(1, index.lexical.documentCount))]);
  }
  return scored
    .sort((a, b) => b[1] - a[1])
    .slice(0, max)
    .map(([t]) => t);
}

/**
 * Turns a follow-up into a standalone retrieval query. With a model, the model rewrites it; without
 * one (or if that fails), the most informative terms of the previous question are added when the
 * follow-up is short or refers back ("how is it tested?").
 */
export async function standaloneQuery(retriever: AnswerRetriever, question: string, history: readonly Turn[], llm?: LlmProvider, signal?: AbortSignal): Promise<string> {
  if (!history.length) return question;
  if (llm) {
    try {
      let out = '';
      for await (const d of llm.stream({ messages: condenseMessages(history, question), signal, maxTokens: 80, temperature: 0 })) out += d;
      const q = out
        .trim()
        .replace(/^["'`]|["'`]$/g, '')
        .split('\n')[0]
        ?.trim();
      if (q && q.length < 500) return q;
    } catch (err) {
      if (err instanceof LlmError && err.kind === 'aborted') throw err;
      // Fall through to the model-free rewrite.
    }
  }
  // Without a model, carry the previous question's terms only when this one refers back to it
  // ("how is it tested?") or names nothing of its own ("and the tests?"); a short question on a
  // new topic ("where is the rate limiter?") must not retrieve the previous topic.
  const ownTerms = codeTerms(question).filter((t) => !isStopword(t) && t.length >= 3);
  if (!PRONOUN.test(question) && !FOLLOW_UP.test(question)) {
    if (ownTerms.length > 2) return question;
    const known = await retriever.salientTerms(question, 3);
    if (known.length) return question;
  }
  const last = history[history.length - 1]!;
  const carried = (await retriever.salientTerms(last.question, 6)).filter((t) => !ownTerms.includes(t));
  return carried.length ? `${question} ${carried.join(' ')}` : question;
}

/**
 * Share of the query's informative weight that the top sources contain: each distinct query term
 * weighs its inverse document frequency (a term absent from the whole index weighs the most), and
 * counts as covered when any of the first five sources contains it, or a word with the same first
 * five letters (so "verified" is covered by `verifyToken`).
 */
export function retrievalCoverage(index: SearchableIndex, query: string, hits: readonly SearchHit[], options: { maxTerms?: number; topHits?: number } = {}): number {
  const n = Math.max(1, index.lexical.documentCount);
  const terms = [...new Set(codeTerms(query))].filter((t) => !isStopword(t) && t.length > 1);
  if (!terms.length || !hits.length) return 0;
  const top = new Set<string>();
  const prefixes = new Set<string>();
  for (const h of hits.slice(0, options.topHits ?? 5)) {
    for (const t of codeTerms(`${h.path}\n${h.symbols.join(' ')}\n${h.text}`)) {
      top.add(t);
      if (t.length >= 5) prefixes.add(t.slice(0, 5));
    }
  }
  // `maxTerms` restricts the judgement to the most informative terms (measured: no better).
  const weighted = terms
    .map((t) => {
      const df = index.lexical.documentFrequency(t);
      return { t, idf: Math.log(1 + (n - df + 0.5) / (df + 0.5)) };
    })
    .sort((a, b) => b.idf - a.idf || (a.t < b.t ? -1 : 1))
    .slice(0, options.maxTerms ?? Infinity);
  let total = 0;
  let covered = 0;
  for (const { t, idf } of weighted) {
    total += idf;
    if (top.has(t) || (t.length >= 5 && prefixes.has(t.slice(0, 5)))) covered += idf;
  }
  return total ? covered / total : 0;
}

export async function answerQuestion(retriever: AnswerRetriever, question: string, options: AnswerOptions = {}): Promise<AnswerResult> {
  const started = performance.now();
  const history = options.history ?? [];
  const att = options.attachment;
  const condensed = await standaloneQuery(retriever, question, history, options.llm, options.signal);
  const query = att ? `${condensed}\n${att.path}\n${att.text}` : condensed;
  const { hits, coverage, vectors: search } = await retriever.retrieve(query, options.k ?? 10, options.signal);
  const weakContext = coverage < (options.weakContextThreshold ?? WEAK_CONTEXT_THRESHOLD);
  const { sources, truncated } = selectSources(hits, { maxTokens: options.contextTokens });
  options.onSources?.(sources);
  const retrieveMs = performance.now() - started;

  let answer = '';
  let cut = false;
  let extractive = !options.llm;
  let error: AnswerResult['error'];
  let messages: ChatMessage[] = [];
  const genStart = performance.now();
  const emit = (d: string) => {
    answer += d;
    options.onToken?.(d);
  };
  // The weak-context warning is the result's flag, which each front end shows once; the answer
  // itself only shows fewer passages.
  const extractiveAnswer = (note: string) => emit(renderExtractiveAnswer(question, weakContext ? sources.slice(0, 2) : sources, note));

  if (options.llm) {
    const asked = att ? `${question}\n\nSelected code (${att.path}:L${att.startLine}-L${att.endLine}):\n\`\`\`\n${att.text}\n\`\`\`` : question;
    messages = buildMessages({ question: asked, sources, history });
    try {
      for await (const d of options.llm.stream({ messages, signal: options.signal })) {
        const room = MAX_ANSWER_CHARS - answer.length;
        emit(d.length > room ? d.slice(0, room) : d);
        if (answer.length >= MAX_ANSWER_CHARS) {
          // Leaving the loop closes the stream (and its request).
          cut = true;
          error = { kind: 'too-long', message: `the answer exceeded ${MAX_ANSWER_CHARS} characters` };
          emit(`\n\n_(The answer was cut off at ${MAX_ANSWER_CHARS} characters.)_`);
          break;
        }
      }
      if (!answer.trim()) {
        // A 200 with nothing in it (an empty stream, a non-streamed JSON body, an HTML page).
        error = { kind: 'empty-answer', message: 'the model returned no text' };
        answer = '';
        extractive = true;
        extractiveAnswer('The model returned no text. This answer quotes the most relevant code instead.');
      }
    } catch (err) {
      if (!(err instanceof LlmError)) throw err;
      if (err.kind === 'aborted') throw err;
      error = { kind: err.kind, message: err.message };
      if (answer || err.partial) {
        // Keep what arrived and say it was cut; its citations are still verified.
        cut = true;
        if (!answer && err.partial) emit(err.partial);
        emit(`\n\n_(The answer was cut off: ${err.message})_`);
      } else {
        extractive = true;
        extractiveAnswer(options.modelErrorNote?.(err.message) ?? `The model could not be used (${err.message}). This answer quotes the most relevant code instead.`);
      }
    }
  } else {
    extractiveAnswer(options.noModelNote ?? NO_MODEL_NOTE);
  }
  const generateMs = performance.now() - genStart;

  const report = await verifyCitations(answer, sources, (p) => retriever.absolutePath(p));
  const provider =
    extractive || !options.llm ? { id: 'extractive', label: 'extractive (no model)', remote: false } : { id: options.llm.id, label: options.llm.label, remote: options.llm.remote };
  return {
    question,
    query,
    answer,
    citations: report.citations,
    citationIntegrity: {
      verified: report.verified,
      stale: report.stale,
      invalid: report.invalid,
      unsupported: report.unsupported,
      total: report.citations.length,
      ratio: report.integrity,
    },
    sources,
    flags: { weakContext, stale: report.stale > 0, truncated, cut, extractive },
    coverage,
    ...(search ? { search } : {}),
    provider,
    error,
    messages,
    timings: { retrieveMs, generateMs, totalMs: performance.now() - started },
  };
}
