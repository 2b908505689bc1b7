/**
 * Groundwork inside VS Code's own Chat: the `@groundwork` participant (answers with the same engine,
 * sources shown with VS Code's reference UI) and the `groundwork_search` language-model tool, which
 * agent mode can call to search the workspace.
 */
import * as vscode from 'vscode';
import type { AnswerService } from './answerService';
import type { IndexService } from './indexService';
import { readSettings } from './settings';
import { VscodeLmProvider } from './vscodeLm';
import { errMessage } from '../core/errMessage';

export const PARTICIPANT_ID = 'groundwork.chat';
export const SEARCH_TOOL = 'groundwork_search';

/** The question/answer pairs of earlier @groundwork turns in a VS Code chat (newest four). */
export function chatHistory(ctx: vscode.ChatContext): Array<{ question: string; answer: string }> {
  const out: Array<{ question: string; answer: string }> = [];
  let question: string | undefined;
  for (const turn of ctx.history) {
    if (turn instanceof vscode.ChatRequestTurn) {
      question = turn.participant === PARTICIPANT_ID ? turn.prompt : undefined;
    } else if (turn instanceof vscode.ChatResponseTurn && question !== undefined && turn.participant === PARTICIPANT_ID) {
      const answer = turn.response
        .map((part) => (part instanceof vscode.ChatResponseMarkdownPart ? part.value.value : ''))
        .join('')
        .trim();
      out.push({ question, answer });
      question = undefined;
    }
  }
  return out.slice(-4);
}

export function registerChatFeatures(context: vscode.ExtensionContext, answers: AnswerService, index: IndexService, log: vscode.LogOutputChannel): void {
  if (vscode.chat?.createChatParticipant) {
    const participant = vscode.chat.createChatParticipant(PARTICIPANT_ID, async (request, ctx, stream, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        stream.progress('Searching the workspace…');
        // The chat request carries the model the user picked; use it unless the workspace is untrusted.
        const llm = vscode.workspace.isTrusted && request.model ? new VscodeLmProvider(request.model) : null;
        // Follow-ups use this chat's own history, not the sidebar's conversation.
        const record = await answers.ask(request.prompt, { llmOverride: llm, history: chatHistory(ctx), onDelta: (_id, d) => stream.markdown(d) });
        for (const s of record.sources) {
          const abs = index.absolutePath(s.path);
          if (abs) stream.reference(new vscode.Location(vscode.Uri.file(abs), new vscode.Range(s.startLine - 1, 0, s.endLine - 1, 0)));
        }
        const v = record.view;
        if (v.searchNote) stream.markdown(`\n\n> ${v.searchNote}`);
        if (v.flags.weakContext) stream.markdown('\n\n> The workspace may not contain an answer to this; the sources above are the closest matches.');
        if (v.error) stream.markdown(`\n\n> ${v.error.message}`);
        return { metadata: { turnId: v.id } };
      } catch (err) {
        log.error(`@groundwork failed: ${errMessage(err)}`);
        stream.markdown(`Groundwork could not answer: ${errMessage(err)}`);
        return { errorDetails: { message: errMessage(err) } };
      } finally {
        sub.dispose();
      }
    });
    participant.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'icons', 'groundwork.svg');
    context.subscriptions.push(participant);
  }

  if (vscode.lm?.registerTool) {
    context.subscriptions.push(
      vscode.lm.registerTool<{ query: string; k?: number }>(SEARCH_TOOL, {
        prepareInvocation: (options) => ({ invocationMessage: `Searching the workspace for “${options.input.query.slice(0, 80)}”` }),
        invoke: async (options) => {
          await index.whenSearchable();
          await index.settle();
          const k = Math.max(1, Math.min(20, Math.floor(options.input.k ?? 8)));
          const { hits } = await index.requireClient().retrieve(options.input.query, Math.min(k, readSettings().topK * 2));
          const text = hits.length
            ? hits
                .slice(0, k)
                .map((h, i) => `[${i + 1}] ${h.path}:L${h.startLine}-L${h.endLine} (${h.language}, score ${h.score.toFixed(4)}, ${h.retrievers.join('+')})\n${h.text}`)
                .join('\n\n')
            : `No code in this workspace matches “${options.input.query}”.`;
          const note = index.indexingNote();
          return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(note ? `${note}\n\n${text}` : text)]);
        },
      }),
    );
  }
}
