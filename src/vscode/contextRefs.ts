/**
 * `#file` and `#selection` in a question typed in the chat view: they attach the active editor's
 * file or selection to the question (like Ask about Selection). Pure (no `vscode` import), so the
 * parsing is unit-tested; chatView.ts resolves the references against the editor.
 */

export type ContextRef = 'file' | 'selection';

/** The question without its `#file` / `#selection` references, and the references it named (once each). */
export function parseContextRefs(question: string): { question: string; refs: ContextRef[] } {
  const refs = new Set<ContextRef>();
  // Only whole words: `#files`, `a#file` and `#selection2` are left alone.
  const stripped = question.replace(/(^|\s)#(file|selection)(?![\w-])/g, (_m, lead: string, name: ContextRef) => {
    refs.add(name);
    return lead;
  });
  return { question: stripped.replace(/\s{2,}/g, ' ').trim(), refs: [...refs] };
}
