/**
 * Groundwork's VS Code front end: activation wires the index service, the answer service, the chat
 * view, hovers, VS Code Chat and the commands (askCommands.ts, indexCommands.ts, modelCommands.ts).
 * The engine runs in a worker; this folder only translates between VS Code and it.
 */
import * as vscode from 'vscode';
import { errMessage } from '../core/errMessage';
import { AnswerService } from './answerService';
import { registerAskCommands } from './askCommands';
import { registerChatFeatures } from './chatFeatures';
import { ChatViewProvider, CHAT_VIEW_ID } from './chatView';
import { commandRegistrar } from './commands';
import { CitationHovers } from './hovers';
import { registerIndexCommands } from './indexCommands';
import { IndexService } from './indexService';
import { registerModelCommands } from './modelCommands';
import { ReportDocuments, REPORT_SCHEME } from './reports';
import { API_KEY_SECRET } from './settings';
import { registerTeamIndexCommands, TeamIndexService } from './teamIndex';

/** What activate() returns: used by the integration tests. */
export interface GroundworkApi {
  index: IndexService;
  answers: AnswerService;
  chat: ChatViewProvider;
  hovers: CitationHovers;
  team: TeamIndexService;
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

  const command = commandRegistrar(context, log);
  registerAskCommands(command, chat, index);
  registerIndexCommands(context, command, index, answers, reports);
  registerModelCommands(context, command, answers, log);
  const team = new TeamIndexService(context, index, log);
  context.subscriptions.push(team);
  registerTeamIndexCommands(context, command, team, log);

  // Index in the background; activation itself returns at once so the editor is never held up.
  void (async () => {
    try {
      await index.start(await context.secrets.get(API_KEY_SECRET));
      team.start();
    } catch (err) {
      log.error(`Groundwork could not start indexing: ${errMessage(err)}`);
      void vscode.window.showErrorMessage(`Groundwork could not start indexing: ${errMessage(err)}`);
    }
  })();
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void (async () => index.restart(await context.secrets.get(API_KEY_SECRET)))()));

  return { index, answers, chat, hovers, team };
}

export function deactivate(): void {}
