/**
 * The team index in VS Code: the `groundwork.teamIndex` setting (validated in teamIndexSettings.ts),
 * its password in secret storage, a status-bar item saying which index answers (the team's at a
 * commit plus N local overlay files, or the local one and why), and keeping the overlay current
 * (saves, file events, unsaved editors, a timer that also retries a failed connection). The engine
 * side (connection, overlay, fallback) runs in the index worker (indexWorker.ts, core/teamRouter.ts).
 * The extension never writes to the shared store.
 */
import * as vscode from 'vscode';
import { errMessage } from '../core/errMessage';
import type { AnsweredBy, TeamStatus } from '../core/teamRouter';
import type { RegisterCommand } from './commands';
import type { IndexService } from './indexService';
import { validateTeamIndex, type TeamIndexConfig } from './teamIndexSettings';

/**
 * Secret-storage key of the team index's password for one server and user (never in settings or
 * logs). Keyed by `postgres://user@host:port/db`, so a URL that a workspace's settings point
 * elsewhere never receives a password stored for the real server.
 */
export function teamPasswordKey(url: string): string {
  const u = new URL(url);
  return `groundwork.teamIndex.password:${u.username}@${u.host}${u.pathname}`;
}
/** How often the overlay is refreshed and a failed connection retried (the worker waits 60 s between attempts). */
const TICK_MS = 30_000;
/** Typing is batched for this long before the unsaved editors are sent. */
const EDIT_DEBOUNCE_MS = 750;
/** At most this many unsaved editors, of at most this many characters each, go to the overlay. */
const MAX_UNSAVED = 50;
const MAX_UNSAVED_CHARS = 1_000_000;

export class TeamIndexService implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private editTimer: NodeJS.Timeout | undefined;
  private status: TeamStatus = { state: 'off' };
  private config: TeamIndexConfig = { kind: 'off' };
  private lastShown = '';
  private lastAnswer: AnsweredBy | undefined;
  private syncing: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly index: IndexService,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.item = vscode.window.createStatusBarItem('groundwork.teamIndex', vscode.StatusBarAlignment.Left, 9);
    this.item.name = 'Groundwork team index';
    this.item.command = 'groundwork.teamIndexStatus';
    this.disposables.push(
      this.item,
      index.onAnsweredBy((a) => {
        this.lastAnswer = a;
        this.render();
      }),
    );
  }

  /** Starts following the setting, the editors and the files (after the local index is open). */
  start(): void {
    const soon = () => {
      if (this.editTimer) clearTimeout(this.editTimer);
      this.editTimer = setTimeout(() => void this.sync(), EDIT_DEBOUNCE_MS);
    };
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('groundwork.teamIndex')) void this.sync(true);
      }),
      this.context.secrets.onDidChange((e) => {
        if (e.key.startsWith('groundwork.teamIndex.password:')) void this.sync(true);
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.sync(true)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.config.kind === 'on' && e.document.uri.scheme === 'file') soon();
      }),
      vscode.workspace.onDidSaveTextDocument(() => this.config.kind === 'on' && soon()),
      vscode.workspace.onDidCloseTextDocument(() => this.config.kind === 'on' && soon()),
      vscode.workspace.onDidCreateFiles(() => this.config.kind === 'on' && soon()),
      vscode.workspace.onDidDeleteFiles(() => this.config.kind === 'on' && soon()),
      vscode.workspace.onDidRenameFiles(() => this.config.kind === 'on' && soon()),
      this.index.onDidRestart(() => void this.sync(true)),
    );
    this.timer = setInterval(() => {
      if (this.config.kind === 'on') void this.sync();
    }, TICK_MS);
    void this.sync(true);
  }

  /** The current state, for the chat view and the tests. */
  get state(): TeamStatus {
    return this.status;
  }

  get configuration(): TeamIndexConfig {
    return this.config;
  }

  /** Sends the setting, the password and the unsaved editors to the worker; shows the outcome. */
  sync(force = false): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.again = false;
          await this.syncOnce(force);
          force = false;
        } while (this.again);
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  private async syncOnce(force: boolean): Promise<void> {
    this.config = validateTeamIndex(vscode.workspace.getConfiguration('groundwork').get('teamIndex'));
    if (this.config.kind === 'on' && !vscode.workspace.isTrusted) {
      // A workspace's own settings could point at any server: nothing is sent until it is trusted.
      this.config = { kind: 'invalid', message: 'the team index is not used in an untrusted workspace (its settings could name any server); trust the workspace to use it' };
    }
    if (!this.index.isReady) {
      this.render();
      return;
    }
    let client;
    try {
      client = this.index.requireClient();
    } catch {
      this.render();
      return;
    }
    try {
      if (this.config.kind !== 'on') {
        this.status = await client.team(null, []);
        if (this.config.kind === 'invalid') this.notify(`Groundwork: ${this.config.message}`, false);
      } else {
        const password = await this.context.secrets.get(teamPasswordKey(this.config.url));
        this.status = await client.team({ url: this.config.url, repository: this.config.repository, password }, this.unsavedEditors(), force);
        if (this.status.state === 'unavailable') {
          this.notify(`Groundwork: the team index (setting groundwork.teamIndex) is unavailable, so the local index answers. ${this.status.message}`, true);
        } else if (this.status.state === 'ready') {
          this.lastShown = '';
        }
      }
    } catch (err) {
      this.status = { state: 'unavailable', message: errMessage(err), retryAt: Date.now() + TICK_MS };
      this.log.warn(`Team index: ${errMessage(err)}`);
    }
    this.index.setTeamDescription(this.status.state === 'ready' ? this.status.description : this.config.kind === 'on' ? 'local index (team index unavailable)' : undefined);
    this.render();
  }

  private unsavedEditors(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const d of vscode.workspace.textDocuments) {
      if (out.length >= MAX_UNSAVED) break;
      if (!d.isDirty || d.uri.scheme !== 'file' || !this.index.indexPathOf(d.uri.fsPath)) continue;
      const text = d.getText();
      if (text.length <= MAX_UNSAVED_CHARS) out.push([d.uri.fsPath, text]);
    }
    return out;
  }

  /** One message per distinct problem (not one per retry). */
  private notify(message: string, withPassword: boolean): void {
    this.log.warn(message);
    if (message === this.lastShown) return;
    this.lastShown = message;
    const actions = ['Open Settings', ...(withPassword ? ['Set Password', 'Retry Now'] : [])];
    void vscode.window.showWarningMessage(message, ...actions).then((a) => {
      if (a === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'groundwork.teamIndex');
      else if (a === 'Set Password') void vscode.commands.executeCommand('groundwork.setTeamIndexPassword');
      else if (a === 'Retry Now') void this.sync(true);
    });
  }

  private render(): void {
    const s = this.status;
    if (this.config.kind === 'off') {
      this.item.hide();
      return;
    }
    if (this.config.kind === 'invalid') {
      this.item.text = '$(warning) Team index: setting invalid';
      this.item.tooltip = `${this.config.message}\nClick for details`;
    } else if (s.state === 'ready') {
      const local = s.team.localFiles + s.team.deletedFiles;
      this.item.text = `$(cloud) Team @${s.team.commit.slice(0, 7)}${local ? ` + ${s.team.localFiles} local` : ''}`;
      this.item.tooltip = `Answers come from the ${s.description}.\n${s.team.snapshotFiles} files in the snapshot; ${s.team.localFiles} changed or new file(s) and ${s.team.deletedFiles} deleted one(s) indexed from your working tree.${s.team.vectors ? '' : '\nVectors: off (keywords only)'}${s.team.overlayVectorsError ? `\nLocal changes by keywords only: ${s.team.overlayVectorsError}` : ''}${this.lastAnswer ? `\nLast answer: ${this.lastAnswer.description}` : ''}`;
    } else if (s.state === 'unavailable') {
      this.item.text = '$(warning) Team index unavailable · local';
      this.item.tooltip = `The local index answers. ${s.message}\nRetried automatically; click for details.`;
    } else {
      this.item.text = '$(sync~spin) Team index: connecting…';
      this.item.tooltip = 'Connecting to the team index';
    }
    this.item.show();
  }

  /** The status command: what answers, and what to do about it. */
  async showStatus(): Promise<void> {
    const s = this.status;
    const text =
      this.config.kind === 'off'
        ? 'No team index is set (setting groundwork.teamIndex): the local index answers.'
        : this.config.kind === 'invalid'
          ? this.config.message
          : s.state === 'ready'
            ? `Answers come from the ${s.description}.`
            : s.state === 'unavailable'
              ? `The team index is unavailable; the local index answers. ${s.message}`
              : 'Connecting to the team index…';
    const a = await vscode.window.showInformationMessage(`Groundwork: ${text}`, 'Open Settings', 'Set Password', 'Retry Now');
    if (a === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'groundwork.teamIndex');
    else if (a === 'Set Password') await vscode.commands.executeCommand('groundwork.setTeamIndexPassword');
    else if (a === 'Retry Now') await this.sync(true);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.editTimer) clearTimeout(this.editTimer);
    for (const d of this.disposables) d.dispose();
  }
}

export function registerTeamIndexCommands(context: vscode.ExtensionContext, command: RegisterCommand, team: TeamIndexService, log: vscode.LogOutputChannel): void {
  const key = (): string => {
    const c = team.configuration;
    if (c.kind !== 'on') throw new Error(c.kind === 'invalid' ? c.message : 'set groundwork.teamIndex.url first: the password is stored for that server and user');
    return teamPasswordKey(c.url);
  };
  command('groundwork.setTeamIndexPassword', async (arg?: unknown) => {
    await team.sync();
    const secret = key();
    const pw =
      typeof arg === 'string'
        ? arg
        : await vscode.window.showInputBox({
            title: 'Groundwork: team index password',
            prompt: 'The password of the user in groundwork.teamIndex.url. Stored in VS Code secret storage, never in settings or logs. Leave empty to remove it.',
            password: true,
            ignoreFocusOut: true,
          });
    if (pw === undefined) return;
    if (pw) await context.secrets.store(secret, pw);
    else await context.secrets.delete(secret);
    log.info(pw ? 'Team index password stored in secret storage.' : 'Team index password removed.');
    await team.sync(true);
  });
  command('groundwork.clearTeamIndexPassword', async () => {
    await team.sync();
    await context.secrets.delete(key());
    log.info('Team index password removed.');
    await team.sync(true);
  });
  command('groundwork.teamIndexStatus', () => team.showStatus());
}
