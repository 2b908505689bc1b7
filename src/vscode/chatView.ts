/**
 * The sidebar chat panel (a WebviewView). The HTML has a strict CSP with a nonce and loads only the
 * bundled webview (dist/media); every message from the webview goes through parseWebviewMessage
 * (validated, size-bounded) and refers to turns, citations and sources by id, never by path.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as vscode from 'vscode';
import type { AnswerService, Attachment } from './answerService';
import { parseContextRefs } from './contextRefs';
import type { IndexService } from './indexService';
import { parseWebviewMessage, type HostMessage, type StatusView } from './protocol';
import { chatViewCsp } from './webviewCsp';
import { errMessage } from '../core/errMessage';

export const CHAT_VIEW_ID = 'groundwork.chat';

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private readonly queue: HostMessage[] = [];
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly answers: AnswerService,
    private readonly index: IndexService,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      this.index.onDidChange(() => void this.pushStatus()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('groundwork')) void this.pushStatus();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.pushStatus()),
      this.answers.onDidUpdateTurns((views) => {
        for (const turn of views) this.post({ type: 'answerDone', turn });
      }),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [media] };
    view.webview.html = this.html(view.webview, media);
    this.disposables.push(
      view.webview.onDidReceiveMessage((raw: unknown) => void this.onMessage(raw)),
      view.onDidDispose(() => {
        this.view = undefined;
        this.ready = false;
      }),
      // A hidden view's document is destroyed (no retainContextWhenHidden): messages posted now
      // would be lost. Until the re-created page says 'ready', its init covers what happened.
      view.onDidChangeVisibility(() => {
        if (!view.visible) this.ready = false;
      }),
    );
  }

  private html(webview: vscode.Webview, media: vscode.Uri): string {
    const nonce = randomBytes(18).toString('base64');
    const uri = (f: string) => webview.asWebviewUri(vscode.Uri.joinPath(media, f)).toString();
    const csp = chatViewCsp(nonce, webview.cspSource);
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri('codicon.css')}">
<link rel="stylesheet" href="${uri('main.css')}">
<title>Groundwork</title>
</head>
<body>
<div id="root"></div>
<script nonce="${nonce}" src="${uri('main.js')}"></script>
</body>
</html>`;
  }

  private post(msg: HostMessage): void {
    if (!this.view || !this.ready) {
      // Keep only what a fresh 'init' does not cover.
      if (msg.type === 'reveal' || msg.type === 'focusInput') this.queue.push(msg);
      return;
    }
    void this.view.webview.postMessage(msg);
  }

  async status(): Promise<StatusView> {
    const s = this.index.summary;
    const choice = await this.answers.chooseProvider();
    const noFolder = this.index.noFolder;
    const counts = this.index.counts();
    return {
      state: this.index.stateLine(),
      files: counts.files,
      chunks: counts.chunks,
      vectors: s?.vectors ?? 'off',
      vectorsReason: noFolder ? undefined : this.index.reasonVectorsOff,
      provider: noFolder ? '' : choice.label,
      trustNote: choice.trustNote,
      ...(noFolder ? { noFolder } : {}),
      ...(choice.problem && !noFolder ? { providerProblem: choice.problem.message } : {}),
    };
  }

  private async pushStatus(): Promise<void> {
    if (this.ready) this.post({ type: 'status', status: await this.status() });
  }

  /** Shows the panel and asks a question in it (about the attached selection, if any). */
  async ask(question: string, attachment?: Attachment): Promise<void> {
    await this.show();
    await this.runQuestion(question, attachment);
  }

  async show(): Promise<void> {
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
  }

  async reveal(turnId: string): Promise<void> {
    await this.show();
    this.post({ type: 'reveal', turnId });
  }

  /** Empties the chat; `keep` (New chat) puts the conversation in the history list first. */
  async clear(keep = false): Promise<void> {
    await this.answers.clear(keep);
    this.post({ type: 'cleared' });
  }

  private async runQuestion(question: string, attachment?: Attachment): Promise<void> {
    const record = await this.answers.ask(question, {
      onStart: (turn) => this.post({ type: 'answerStart', turn }),
      onDelta: (turnId, delta) => this.post({ type: 'answerDelta', turnId, delta }),
      attachment,
    });
    this.post({ type: 'answerDone', turn: record.view });
  }

  /**
   * `#selection` attaches the active editor's selection, `#file` its whole file (the first 4,000
   * characters); without an editor (or an empty selection) the reference is dropped, and said so.
   */
  private resolveContextRefs(raw: string): { question: string; attachment?: Attachment } {
    const { question, refs } = parseContextRefs(raw);
    if (!refs.length) return { question: raw };
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
    const doc = editor?.document;
    const p = doc && (this.index.indexPathOf(doc.uri.fsPath) ?? vscode.workspace.asRelativePath(doc.uri));
    if (!editor || !doc || !p) {
      void vscode.window.showInformationMessage('Groundwork: #file and #selection refer to the active editor; open a file first.');
      return { question: question || raw };
    }
    const sel = editor.selection;
    if (refs.includes('selection') && !sel.isEmpty) {
      const endLine = sel.end.character === 0 && sel.end.line > sel.start.line ? sel.end.line : sel.end.line + 1;
      return { question: question || 'What does this do?', attachment: { path: p, startLine: sel.start.line + 1, endLine, text: doc.getText(sel).slice(0, 4000) } };
    }
    const text = doc.getText().slice(0, 4000);
    const lines = text.split('\n').length;
    return { question: question || 'What does this file do?', attachment: { path: p, startLine: 1, endLine: Math.min(lines, doc.lineCount), text } };
  }

  /** Inserts code of an answer at the cursor of the last active editor (replacing its selection). */
  private async insertCode(turnId: string, code: string): Promise<void> {
    const answer = this.answers.turn(turnId)?.view.answer ?? this.answers.inFlight?.answer ?? '';
    const text = code.replace(/\n$/, '');
    // Only code that is in that answer: the webview names text it was given, nothing else.
    if (!text || !answer.includes(text)) return;
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
    if (!editor) {
      void vscode.window.showInformationMessage('Groundwork: open a file to insert the code into.');
      return;
    }
    await editor.edit((b) => b.replace(editor.selection, text));
    await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      this.log.warn('Ignored a malformed message from the chat view.');
      return;
    }
    try {
      switch (msg.type) {
        case 'ready': {
          const status = await this.status();
          // Synchronously from here: the init snapshot (history plus the turn being answered, as
          // streamed so far) and 'ready' must not let a delta slip in between.
          this.ready = true;
          const inFlight = this.answers.inFlight;
          const turns = this.answers.history.map((t) => t.view);
          this.post({ type: 'init', turns: inFlight ? [...turns, { ...inFlight }] : turns, status });
          for (const m of this.queue.splice(0)) this.post(m);
          return;
        }
        case 'ask': {
          const { question, attachment } = this.resolveContextRefs(msg.question);
          await this.runQuestion(question, attachment);
          return;
        }
        case 'retry': {
          const t = this.answers.turn(msg.turnId);
          if (t) await this.runQuestion(t.view.question, t.attachment);
          return;
        }
        case 'insertCode':
          await this.insertCode(msg.turnId, msg.code);
          return;
        case 'stop':
          this.answers.stop();
          return;
        case 'newChat':
          await this.clear(true);
          return;
        case 'showHistory':
          this.post({ type: 'history', conversations: [...this.answers.pastConversations] });
          return;
        case 'openConversation':
          if (await this.answers.openConversation(msg.id)) this.post({ type: 'init', turns: this.answers.history.map((t) => t.view), status: await this.status() });
          return;
        case 'openCitation': {
          const t = this.answers.turn(msg.turnId);
          const c = t?.citations[msg.citationId];
          if (!c || c.status === 'invalid' || !c.path || c.startLine === undefined || c.endLine === undefined) return;
          await this.openRange(c.path, c.startLine, c.endLine);
          return;
        }
        case 'openSource': {
          const s = this.answers.turn(msg.turnId)?.sources.find((x) => x.n === msg.n);
          if (s) await this.openRange(s.path, s.startLine, s.endLine);
          return;
        }
        case 'previewCitation': {
          const t = this.answers.turn(msg.turnId);
          const c = t?.citations[msg.citationId];
          if (!c?.path || c.startLine === undefined || c.endLine === undefined || c.status === 'invalid') return;
          const abs = this.index.absolutePath(c.path);
          // An open document may have unsaved edits, which the tracked range follows.
          const open = abs ? vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === abs) : undefined;
          const text = open ? open.getText() : abs ? await fsp.readFile(abs, 'utf8').catch(() => undefined) : undefined;
          const lines = text?.split(/\r\n|\r|\n/).slice(c.startLine - 1, Math.min(c.endLine, c.startLine + 39)) ?? [];
          this.post({
            type: 'preview',
            requestId: msg.requestId,
            label: `${c.path}:L${c.startLine}-L${c.endLine}`,
            language: t?.sources.find((s) => s.n === c.n)?.language ?? '',
            startLine: c.startLine,
            lines,
            note: c.status === 'stale' ? `Stale: ${c.reason ?? 'the file changed since this answer'}. These are its current lines.` : undefined,
          });
          return;
        }
        case 'runAction': {
          const command = {
            setApiKey: 'groundwork.setApiKey',
            openSettings: 'workbench.action.openSettings',
            rebuildIndex: 'groundwork.rebuildIndex',
            showStatus: 'groundwork.showStatus',
            downloadModel: 'groundwork.downloadModel',
            openFolder: 'workbench.action.files.openFolder',
            chooseModel: 'groundwork.chooseModel',
          }[msg.action];
          await vscode.commands.executeCommand(command, ...(msg.action === 'openSettings' ? ['groundwork'] : []));
          return;
        }
      }
    } catch (err) {
      this.log.error(`Chat view action failed: ${errMessage(err)}`);
      void vscode.window.showErrorMessage(`Groundwork: ${errMessage(err)}`);
    }
  }

  /** Opens a file with the range revealed and selected. */
  async openRange(indexPath: string, startLine: number, endLine: number): Promise<void> {
    const abs = this.index.absolutePath(indexPath);
    if (!abs) return;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(abs));
    const last = Math.min(endLine, doc.lineCount) - 1;
    const range = new vscode.Range(startLine - 1, 0, last, doc.lineAt(Math.max(0, last)).text.length);
    await vscode.window.showTextDocument(doc, { selection: range, preview: true });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
