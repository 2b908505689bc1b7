/** Commands about the index: rebuild, status and chunk reports, retrieval evaluation, the embedding model download. */
import * as vscode from 'vscode';
import { computeMetrics, readQueryFile, type EvalResult } from '../core/evaluation';
import { SKIP_REASON_TEXT, type SkipReason } from '../core/skipReasons';
import { DEFAULT_LOCAL_MODEL } from '../providers/localModel';
import { downloadModel } from '../providers/modelDownload';
import type { AnswerService } from './answerService';
import type { RegisterCommand } from './commands';
import type { IndexService } from './indexService';
import type { ReportDocuments } from './reports';
import { API_KEY_SECRET, readSettings } from './settings';

export function registerIndexCommands(context: vscode.ExtensionContext, command: RegisterCommand, index: IndexService, answers: AnswerService, reports: ReportDocuments): void {
  const chunkDecoration = vscode.window.createTextEditorDecorationType({
    borderColor: new vscode.ThemeColor('editorInfo.foreground'),
    borderStyle: 'dashed',
    borderWidth: '1px 0 0 0',
    isWholeLine: true,
  });
  context.subscriptions.push(chunkDecoration);

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
      `- Languages: ${
        Object.entries(st.languages)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }`,
      `- Vectors: ${st.vectors.mode}${st.vectors.embedder ? ` (${st.vectors.count} from ${st.vectors.embedder})` : ''}${st.vectorsReason ? ` — ${st.vectorsReason}` : ''}`,
      `- Answers: ${choice.label}${choice.trustNote ? ` — ${choice.trustNote}` : ''}`,
      `- Index folder: ${st.indexDir} (${(st.sizeOnDiskBytes / 1024 / 1024).toFixed(1)} MB)`,
      '',
      '## Skipped',
      '',
      ...((Object.entries(st.skipped) as Array<[SkipReason, number]>).length
        ? (Object.entries(st.skipped) as Array<[SkipReason, number]>).map(
            ([r, n]) => `- ${n} ${r}: ${SKIP_REASON_TEXT[r]}${st.skippedSamples[r]?.length ? ` (e.g. ${st.skippedSamples[r].slice(0, 5).join(', ')})` : ''}`,
          )
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
        hoverMessage: new vscode.MarkdownString(
          `Chunk L${c.startLine}-L${c.endLine}${c.symbols.length ? ` · ${c.symbols.slice(0, 5).join(', ')}` : ''}${c.header ? `\n\n${c.header}` : ''}`,
        ),
        renderOptions: { after: { contentText: `  ⟦chunk L${c.startLine}-L${c.endLine}⟧`, color: new vscode.ThemeColor('editorCodeLens.foreground') } },
      })),
    );
    void vscode.window.showInformationMessage(`${p}: ${chunks.length} chunks (boundaries marked in the editor).`);
  });

  command('groundwork.runEvaluation', async (fileArg?: unknown) => {
    const file =
      fileArg instanceof vscode.Uri
        ? fileArg
        : (
            await vscode.window.showOpenDialog({ title: 'Queries file (JSONL: {"id","query","expected"?} per line)', filters: { 'JSON Lines': ['jsonl'] }, canSelectMany: false })
          )?.[0];
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
    if (m.queries)
      out.push(
        `recall@1 ${m.recallAt1.toFixed(3)} · recall@5 ${m.recallAt5.toFixed(3)} · recall@10 ${m.recallAt10.toFixed(3)} · MRR@10 ${m.mrrAt10.toFixed(3)} (n=${m.queries})`,
        '',
      );
    for (const r of results)
      out.push(
        `- **${r.id}**: ${
          r.hits
            .slice(0, 3)
            .map((h) => `${h.path}:L${h.startLine}-L${h.endLine}`)
            .join(', ') || 'no hits'
        }`,
      );
    out.push('', '```json', JSON.stringify({ version: 1, results }), '```');
    await reports.show('Retrieval Evaluation', out.join('\n'), false);
    return m;
  });

  command('groundwork.downloadModel', async () => {
    const s = readSettings();
    const modelId = s['embeddings.model'] || DEFAULT_LOCAL_MODEL;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Groundwork: downloading ${modelId}`, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        await downloadModel({ modelId, signal: abort.signal }, (p) => progress.report({ message: p.file }));
      },
    );
    await index.restart(await context.secrets.get(API_KEY_SECRET));
  });
}
