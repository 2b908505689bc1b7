/**
 * Groundwork's VS Code front end: activation, commands, and the wiring of the index service, the
 * answer service, the chat view, hovers and VS Code Chat. The engine runs in a worker; this file
 * only translates between VS Code and it.
 */
import * as vscode from 'vscode';
import { computeMetrics, readQueryFile, type EvalResult } from '../core/evaluation';
import { SKIP_REASON_TEXT, type SkipReason } from '../core/skipReasons';
import { DEFAULT_LOCAL_MODEL } from '../providers/localModel';
import { downloadModel } from '../providers/modelDownload';
import { AnswerService } from './answerService';
import { registerChatFeatures } from './chatFeatures';
import { ChatViewProvider, CHAT_VIEW_ID } from './chatView';
import { CitationHovers, REVEAL_COMMAND } from './hovers';
import { IndexService } from './indexService';
import { API_KEY_SECRET, readSettings } from './settings';
import { errMessage } from '../core/errMessage';

/** What activate() returns: used by the integration tests. */
export interface GroundworkApi {
  index: IndexService;
  answers: AnswerService;
  chat: ChatViewProvider;
  hovers: CitationHovers;
}

export async function activate(context: vscode.ExtensionContext): Promise<GroundworkApi> {
  const log = vscode.window.createOutputChannel('Groundwork', { log: true });
  context.subscriptions.push(log);
  const index = new IndexService(context, log);
  const answers = new AnswerService(context, index, log);
  const chat = new ChatViewProvider(context, answers, index, log);
  const hovers = new CitationHovers(answers, index);
  context.subscriptions.push(index, answers, chat, hovers, vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, chat));
  registerChatFeatures(context, answers, index, log);

  // Reports (index status, evaluation) are read-only virtual documents: never dirty, never "Save changes?".
  const reports = new ReportDocuments();
  context.subscriptions.push(reports, vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, reports));

  const chunkDecoration = vscode.window.createTextEditorDecorationType({
    borderColor: new vscode.ThemeColor('editorInfo.foreground'),
    borderStyle: 'dashed',
    borderWidth: '1px 0 0 0',
    isWholeLine: true,
  });
  context.subscriptions.push(chunkDecoration);

  const command = (id: string, fn: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          log.error(`${id} failed: ${errMessage(err)}`);
          void vscode.window.showErrorMessage(`Groundwork: ${errMessage(err)}`);
          return undefined;
        }
      }),
    );

  command('groundwork.ask', async (question?: unknown) => {
    const q =
      typeof question === 'string' && question.trim()
        ? question
        : await vscode.window.showInputBox({ title: 'Ask about Workspace', prompt: 'A question about this codebase; the answer cites files and lines.', placeHolder: 'How are sessions verified?', ignoreFocusOut: true });
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
    const q = await vscode.window.showInputBox({ title: 'Ask about Selection', prompt: `About ${p}:L${sel.start.line + 1}-L${endLine}`, value: 'What does this do, and where is it used?', ignoreFocusOut: true });
    // The question stays the question; the selection travels as an attachment (shown as file:Lx-Ly).
    if (q?.trim()) await chat.ask(q.trim(), { path: p, startLine: sel.start.line + 1, endLine, text: code });
  });

  command('groundwork.rebuildIndex', async () => {
    const s = await index.rebuild();
    if (s) void vscode.window.showInformationMessage(`Groundwork rebuilt the index: ${s.filesIndexed} files, ${s.chunks} chunks.`);
  });

  command('groundwork.showStatus', async () => {
    const st = await index.status();
    if (!st) {
      void vscode.window.showInformationMessage('Groundwork: no workspace folder is open.');
      return;
    }
    const choice = await answers.chooseProvider();
    const lines = [
      '# Groundwork index status',
      '',
      `- Folders: ${st.roots.join(', ')}`,
      `- Indexed: ${st.files} files, ${st.chunks} chunks${st.lastIndexedAt ? ` (last scan ${st.lastIndexedAt})` : ''}`,
      `- Languages: ${Object.entries(st.languages).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
      `- Vectors: ${st.vectors.mode}${st.vectors.embedder ? ` (${st.vectors.count} from ${st.vectors.embedder})` : ''}${st.vectorsReason ? ` — ${st.vectorsReason}` : ''}`,
      `- Answers: ${choice.label}${choice.trustNote ? ` — ${choice.trustNote}` : ''}`,
      `- Index folder: ${st.indexDir} (${(st.sizeOnDiskBytes / 1024 / 1024).toFixed(1)} MB)`,
      '',
      '## Skipped',
      '',
      ...((Object.entries(st.skipped) as Array<[SkipReason, number]>).length
        ? (Object.entries(st.skipped) as Array<[SkipReason, number]>).map(([r, n]) => `- ${n} ${r}: ${SKIP_REASON_TEXT[r]}${st.skippedSamples[r]?.length ? ` (e.g. ${st.skippedSamples[r].slice(0, 5).join(', ')})` : ''}`)
        : ['- nothing']),
      ...(st.fallbackFiles.length ? ['', '## Parse fallbacks', '', ...st.fallbackFiles.slice(0, 20).map((f) => `- ${f.path}: ${f.reason}`)] : []),
    ];
    await reports.show('Index Status', lines.join('\n'));
  });

  command('groundwork.showChunks', async () => {
    const editor = vscode.window.activeTextEditor;
    const p = editor && index.indexPathOf(editor.document.uri.fsPath);
    if (!editor || !p) {
      void vscode.window.showInformationMessage('Open a file of the workspace first.');
      return;
    }
    const chunks = await index.requireClient().chunksOf(p);
    if (!chunks.length) {
      void vscode.window.showInformationMessage(`${p} is not indexed (see Groundwork: Show Index Status for why).`);
      editor.setDecorations(chunkDecoration, []);
      return;
    }
    editor.setDecorations(
      chunkDecoration,
      chunks.map((c) => ({
        range: new vscode.Range(c.startLine - 1, 0, c.startLine - 1, 0),
        hoverMessage: new vscode.MarkdownString(`Chunk L${c.startLine}-L${c.endLine}${c.symbols.length ? ` · ${c.symbols.slice(0, 5).join(', ')}` : ''}${c.header ? `\n\n${c.header}` : ''}`),
        renderOptions: { after: { contentText: `  ⟦chunk L${c.startLine}-L${c.endLine}⟧`, color: new vscode.ThemeColor('editorCodeLens.foreground') } },
      })),
    );
    void vscode.window.showInformationMessage(`${p}: ${chunks.length} chunks (boundaries marked in the editor).`);
  });

  command('groundwork.runEvaluation', async (fileArg?: unknown) => {
    const file =
      fileArg instanceof vscode.Uri
        ? fileArg
        : (await vscode.window.showOpenDialog({ title: 'Queries file (JSONL: {"id","query","expected"?} per line)', filters: { 'JSON Lines': ['jsonl'] }, canSelectMany: false }))?.[0];
    if (!file) return;
    const queries = await readQueryFile(file.fsPath);
    await index.whenReady();
    const results: EvalResult[] = [];
    for (const q of queries) {
      const { hits } = await index.requireClient().retrieve(q.query, 10);
      results.push({ id: q.id, hits: hits.map((h) => ({ path: h.path, startLine: h.startLine, endLine: h.endLine, score: h.score })) });
    }
    const m = computeMetrics(queries, results);
    const out = [`# Groundwork retrieval evaluation`, '', `Queries: ${file.fsPath} (${queries.length})`, ''];
    if (m.queries) out.push(`recall@1 ${m.recallAt1.toFixed(3)} · recall@5 ${m.recallAt5.toFixed(3)} · recall@10 ${m.recallAt10.toFixed(3)} · MRR@10 ${m.mrrAt10.toFixed(3)} (n=${m.queries})`, '');
    for (const r of results) out.push(`- **${r.id}**: ${r.hits.slice(0, 3).map((h) => `${h.path}:L${h.startLine}-L${h.endLine}`).join(', ') || 'no hits'}`);
    out.push('', '```json', JSON.stringify({ version: 1, results }), '```');
    await reports.show('Retrieval Evaluation', out.join('\n'), false);
    return m;
  });

  command('groundwork.setApiKey', async (keyArg?: unknown) => {
    const key =
      typeof keyArg === 'string'
        ? keyArg
        : await vscode.window.showInputBox({ title: 'Groundwork: API key for the OpenAI-compatible endpoint', prompt: 'Stored in VS Code secret storage, never in settings or logs. Leave empty to remove it.', password: true, ignoreFocusOut: true });
    if (key === undefined) return;
    if (key.trim()) await context.secrets.store(API_KEY_SECRET, key.trim());
    else await context.secrets.delete(API_KEY_SECRET);
    log.info(key.trim() ? 'API key stored in secret storage.' : 'API key removed.');
    void vscode.window.showInformationMessage(key.trim() ? 'Groundwork: API key saved.' : 'Groundwork: API key removed.');
  });

  command('groundwork.clearConversation', () => chat.clear());

  // The model picker: which model writes answers, with what each choice means and which one answers now.
  command('groundwork.chooseModel', async () => {
    const current = readSettings().provider;
    const now = (await answers.chooseProvider()).label;
    type Item = vscode.QuickPickItem & { value: 'auto' | 'openai' | 'vscode-lm' | 'extractive' | 'settings' };
    const items: Item[] = [
      { value: 'auto', label: 'Automatic', description: current === 'auto' ? `current · answers by ${now}` : undefined, detail: 'The OpenAI-compatible endpoint if one is configured, else a VS Code language model (e.g. Copilot), else quoted answers.' },
      { value: 'openai', label: 'OpenAI-compatible endpoint', description: current === 'openai' ? `current · ${now}` : readSettings().baseUrl || 'api.openai.com', detail: 'groundwork.baseUrl + groundwork.model (Ollama, LM Studio, llama.cpp, vLLM, OpenAI); the key from Set API Key.' },
      { value: 'vscode-lm', label: 'VS Code language model', description: current === 'vscode-lm' ? `current · ${now}` : undefined, detail: 'A model from an installed chat extension such as Copilot.' },
      { value: 'extractive', label: 'No model: quote the code', description: current === 'extractive' ? 'current' : undefined, detail: 'Answers quote the most relevant code with citations; nothing leaves the machine.' },
      { value: 'settings', label: 'Open Groundwork settings…' },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'Groundwork: who writes answers', placeHolder: `Now: ${now}` });
    if (!pick) return;
    if (pick.value === 'settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'groundwork');
      return;
    }
    const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await vscode.workspace.getConfiguration('groundwork').update('provider', pick.value, target);
  });

  command('groundwork.downloadModel', async () => {
    const s = readSettings();
    const modelId = s['embeddings.model'] || DEFAULT_LOCAL_MODEL;
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Groundwork: downloading ${modelId}`, cancellable: true }, async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      await downloadModel({ modelId, signal: abort.signal }, (p) => progress.report({ message: p.file }));
    });
    await index.restart(await context.secrets.get(API_KEY_SECRET));
  });

  command(REVEAL_COMMAND, async (turnId?: unknown) => {
    if (typeof turnId === 'string') await chat.reveal(turnId);
  });

  // Index in the background; activation itself returns at once so the editor is never held up.
  void (async () => {
    try {
      await index.start(await context.secrets.get(API_KEY_SECRET));
    } catch (err) {
      log.error(`Groundwork could not start indexing: ${errMessage(err)}`);
      void vscode.window.showErrorMessage(`Groundwork could not start indexing: ${errMessage(err)}`);
    }
  })();
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => void (async () => index.restart(await context.secrets.get(API_KEY_SECRET)))()),
  );

  return { index, answers, chat, hovers };
}

export function deactivate(): void {}

/** URI scheme of Groundwork's read-only report documents. */
export const REPORT_SCHEME = 'groundwork-report';

/** Read-only Markdown reports, one per title; showing a title again refreshes its content. */
class ReportDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
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
