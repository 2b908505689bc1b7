/** Groundwork's read-only report documents (index status, evaluation): never dirty, never "Save changes?". */
import * as vscode from 'vscode';

/** URI scheme of Groundwork's read-only report documents. */
export const REPORT_SCHEME = 'groundwork-report';

/** Read-only Markdown reports, one per title; showing a title again refreshes its content. */
export class ReportDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly content = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.content.get(uri.path) ?? '';
  }

  async show(title: string, markdown: string, preview = true): Promise<void> {
    const uri = vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/${title}.md` });
    this.content.set(uri.path, markdown);
    this.changed.fire(uri);
    // The .md path makes it Markdown.
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview });
  }

  dispose(): void {
    this.changed.dispose();
  }
}
