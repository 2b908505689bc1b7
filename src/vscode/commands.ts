/** Registration of Groundwork's commands: every failure is logged and shown to the user, never swallowed. */
import * as vscode from 'vscode';
import { errMessage } from '../core/errMessage';

/** Registers a command whose failures are logged and shown; `fn`'s result is the command's result. */
export type RegisterCommand = (id: string, fn: (...args: unknown[]) => unknown) => void;

export function commandRegistrar(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): RegisterCommand {
  return (id, fn) => {
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
  };
}
