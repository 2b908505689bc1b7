/** Commands that ask: a typed question, a question about the selection, clearing, revealing an answer. */
import * as vscode from 'vscode';
import type { ChatViewProvider } from './chatView';
import type { RegisterCommand } from './commands';
import { REVEAL_COMMAND } from './hovers';
import type { IndexService } from './indexService';

export function registerAskCommands(command: RegisterCommand, chat: ChatViewProvider, index: IndexService): void {
  command('groundwork.ask', async (question?: unknown) => {
    const q =
      typeof question === 'string' && question.trim()
        ? question
        : await vscode.window.showInputBox({
            title: 'Ask about Workspace',
            prompt: 'A question about this codebase; the answer cites files and lines.',
            placeHolder: 'How are sessions verified?',
            ignoreFocusOut: true,
          });
    if (q?.trim()) await chat.ask(q.trim());
  });

  command('groundwork.askSelection', async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.selection.isEmpty) {
      void vscode.window.showInformationMessage('Select some code first, then run Groundwork: Ask about Selection.');
      return;
    }
    const p = index.indexPathOf(editor.document.uri.fsPath) ?? vscode.workspace.asRelativePath(editor.document.uri);
    const sel = editor.selection;
    // A selection ending at column 0 of a line does not include that line.
    const endLine = sel.end.character === 0 && sel.end.line > sel.start.line ? sel.end.line : sel.end.line + 1;
    const code = editor.document.getText(sel).slice(0, 4000);
    const q = await vscode.window.showInputBox({
      title: 'Ask about Selection',
      prompt: `About ${p}:L${sel.start.line + 1}-L${endLine}`,
      value: 'What does this do, and where is it used?',
      ignoreFocusOut: true,
    });
    // The question stays the question; the selection travels as an attachment (shown as file:Lx-Ly).
    if (q?.trim()) await chat.ask(q.trim(), { path: p, startLine: sel.start.line + 1, endLine, text: code });
  });

  command('groundwork.clearConversation', () => chat.clear());

  command(REVEAL_COMMAND, async (turnId?: unknown) => {
    if (typeof turnId === 'string') await chat.reveal(turnId);
  });
}
