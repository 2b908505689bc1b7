/**
 * Citations in the editor: a hover on any range an answer cited (which question, the answer around
 * the citation, a link that reveals the answer), and a subtle background on cited ranges.
 * MarkdownString trust is an allowlist of Groundwork's own command; the answer text is escaped.
 */
import * as vscode from 'vscode';
import { hash16 } from '../core/hash';
import type { AnswerService, CitedRange } from './answerService';
import type { IndexService } from './indexService';
import { readSettings } from './settings';

export const REVEAL_COMMAND = 'groundwork.revealAnswer';

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}

/**
 * An answer excerpt as hover markdown: citation markers (`[1][2]`) dropped, `code spans` kept as
 * code, everything else escaped (the excerpt is model output).
 */
export function excerptMarkdown(text: string): string {
  const plain = text.replace(/\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\]/g, '');
  return plain
    .split(/(`[^`\n]{1,200}`)/)
    .map((part, i) => (i % 2 === 1 ? part : escapeMarkdown(part)))
    .join('');
}

export class CitationHovers implements vscode.HoverProvider, vscode.Disposable {
  // A bar in the left edge of the text, not a background: a background read as a selection in light themes.
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    borderColor: new vscode.ThemeColor('editorInfo.foreground'),
    borderStyle: 'solid',
    borderWidth: '0 0 0 2px',
    isWholeLine: true,
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.infoForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly answers: AnswerService,
    private readonly index: IndexService,
  ) {
    this.disposables.push(
      this.decoration,
      vscode.languages.registerHoverProvider({ scheme: 'file' }, this),
      answers.onDidChangeCitations(() => this.decorateAll()),
      vscode.window.onDidChangeVisibleTextEditors(() => this.decorateAll()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('groundwork.hoverDecorations')) this.decorateAll();
      }),
    );
    this.decorateAll();
  }

  /** Ranges cited in a document, newest first. */
  rangesFor(doc: vscode.TextDocument): CitedRange[] {
    const p = this.index.indexPathOf(doc.uri.fsPath);
    if (!p) return [];
    return this.answers.citedRanges.filter((c) => c.path === p).sort((a, b) => b.at - a.at);
  }

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const line = pos.line + 1;
    const seen = new Set<string>();
    const hits = this.rangesFor(doc).filter((c) => {
      // The same question citing the same range again (asked twice) is shown once.
      const key = `${c.question}\0${c.startLine}-${c.endLine}`;
      if (c.startLine > line || line > c.endLine || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (!hits.length) return undefined;
    const md = new vscode.MarkdownString(undefined, true);
    // Only our own command may run from this hover; the answer text itself is escaped.
    md.isTrusted = { enabledCommands: [REVEAL_COMMAND] };
    md.supportThemeIcons = true;
    for (const c of hits.slice(0, 3)) {
      const current = doc.getText(new vscode.Range(c.startLine - 1, 0, Math.min(c.endLine, doc.lineCount) - 1, Number.MAX_SAFE_INTEGER));
      const stale = c.edited === true || hash16(current.replace(/\r\n|\r/g, '\n')) !== c.textHash;
      const args = encodeURIComponent(JSON.stringify([c.turnId]));
      md.appendMarkdown(`$(quote) **Cited by Groundwork** (lines ${c.startLine}–${c.endLine})\n\n`);
      md.appendMarkdown(`**Q:** ${escapeMarkdown(c.question.slice(0, 200))}\n\n`);
      md.appendMarkdown(`> ${excerptMarkdown(c.excerpt.slice(0, 300))}\n\n`);
      if (stale) md.appendMarkdown('$(warning) This file changed since the answer; the citation may be stale.\n\n');
      md.appendMarkdown(`[Reveal the answer](command:${REVEAL_COMMAND}?${args} "Show this answer in the Groundwork chat")\n\n---\n\n`);
    }
    const first = hits[0]!;
    return new vscode.Hover(md, new vscode.Range(first.startLine - 1, 0, Math.min(first.endLine, doc.lineCount) - 1, 0));
  }

  decorateAll(): void {
    const on = readSettings().hoverDecorations;
    for (const editor of vscode.window.visibleTextEditors) {
      const ranges = on
        ? this.rangesFor(editor.document).map((c) => new vscode.Range(c.startLine - 1, 0, Math.max(c.startLine - 1, Math.min(c.endLine, editor.document.lineCount) - 1), 0))
        : [];
      editor.setDecorations(this.decoration, ranges);
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
