/** Commands about the chat model: the API key in secret storage and the model picker. */
import * as vscode from 'vscode';
import type { AnswerService } from './answerService';
import type { RegisterCommand } from './commands';
import { API_KEY_SECRET, readSettings } from './settings';

export function registerModelCommands(context: vscode.ExtensionContext, command: RegisterCommand, answers: AnswerService, log: vscode.LogOutputChannel): void {
  command('groundwork.setApiKey', async (keyArg?: unknown) => {
    const key =
      typeof keyArg === 'string'
        ? keyArg
        : await vscode.window.showInputBox({
            title: 'Groundwork: API key for the OpenAI-compatible endpoint',
            prompt: 'Stored in VS Code secret storage, never in settings or logs. Leave empty to remove it.',
            password: true,
            ignoreFocusOut: true,
          });
    if (key === undefined) return;
    if (key.trim()) await context.secrets.store(API_KEY_SECRET, key.trim());
    else await context.secrets.delete(API_KEY_SECRET);
    log.info(key.trim() ? 'API key stored in secret storage.' : 'API key removed.');
    void vscode.window.showInformationMessage(key.trim() ? 'Groundwork: API key saved.' : 'Groundwork: API key removed.');
  });

  // The model picker: which model writes answers, with what each choice means and which one answers now.
  command('groundwork.chooseModel', async () => {
    const current = readSettings().provider;
    const now = (await answers.chooseProvider()).label;
    type Item = vscode.QuickPickItem & { value: 'auto' | 'openai' | 'vscode-lm' | 'extractive' | 'settings' };
    const items: Item[] = [
      {
        value: 'auto',
        label: 'Automatic',
        description: current === 'auto' ? `current · answers by ${now}` : undefined,
        detail: 'The OpenAI-compatible endpoint if one is configured, else a VS Code language model (e.g. Copilot), else quoted answers.',
      },
      {
        value: 'openai',
        label: 'OpenAI-compatible endpoint',
        description: current === 'openai' ? `current · ${now}` : readSettings().baseUrl || 'api.openai.com',
        detail: 'groundwork.baseUrl + groundwork.model (Ollama, LM Studio, llama.cpp, vLLM, OpenAI); the key from Set API Key.',
      },
      {
        value: 'vscode-lm',
        label: 'VS Code language model',
        description: current === 'vscode-lm' ? `current · ${now}` : undefined,
        detail: 'A model from an installed chat extension such as Copilot.',
      },
      {
        value: 'extractive',
        label: 'No model: quote the code',
        description: current === 'extractive' ? 'current' : undefined,
        detail: 'Answers quote the most relevant code with citations; nothing leaves the machine.',
      },
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
}
