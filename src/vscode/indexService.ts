/**
 * Keeps the workspace index alive inside VS Code: one index worker for all workspace folders
 * (multi-root), stored in the extension's per-workspace storage folder; progress in the status bar
 * and, for the first full index, a progress notification; a file watcher plus document saves keep
 * it current (debounced), honouring files.exclude and the ignore files.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { absolutePathOf, indexPathOf, uniqueRoots, type WorkspaceRoot } from '../core/discovery';
import type { IndexProgress, IndexRunSummary } from '../core/workspaceIndex';
import type { EmbedSettings } from '../providers/config';
import { IndexClient, resolveIndexWorker } from './indexClient';
import type { StatusWithReason } from './indexWorker';
import type { GroundworkSettings } from './settingsDefaults';
import { readSettings } from './settings';
import { errMessage } from '../core/errMessage';
import { DEFAULT_QUIET_MS, formatEta, type EmbedThrottle, type EmbedTier } from '../core/embedQueue';

/** Typing is reported to the index worker at most this often (it pauses embedding; see embedQueue.ts). */
const ACTIVITY_INTERVAL_MS = 300;

/** The embedding throttle from the settings (an out-of-range share is clamped, not an error). */
export function throttleOf(s: Pick<GroundworkSettings, 'embeddings.cpuShare' | 'embeddings.pauseWhileTyping'>): EmbedThrottle {
  const share = Number.isFinite(s['embeddings.cpuShare']) ? Math.min(1, Math.max(0.05, s['embeddings.cpuShare'])) : 1;
  return { cpuShare: share, quietMs: s['embeddings.pauseWhileTyping'] ? DEFAULT_QUIET_MS : 0 };
}
import type { AnsweredBy } from '../core/teamRouter';

/** Edits are batched for this long before the index is updated (a save is searchable in < 1 s). */
const DEBOUNCE_MS = 150;

export class IndexService implements vscode.Disposable {
  private client: IndexClient | undefined;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private progress: IndexProgress | undefined;
  private lastSummary: IndexRunSummary | undefined;
  private vectorsReason: string | undefined;
  private ready = false;
  private readonly onDidChangeEmitter = new vscode.EventEmitter<void>();
  /** Fires when indexing state or counts change (the chat view shows them). */
  readonly onDidChange = this.onDidChangeEmitter.event;
  private readonly answeredByEmitter = new vscode.EventEmitter<AnsweredBy>();
  /** Fires after each retrieval with the index that answered it (team + overlay, or local). */
  readonly onAnsweredBy = this.answeredByEmitter.event;
  private readonly restartedEmitter = new vscode.EventEmitter<void>();
  /** Fires when the index (worker) was opened again, e.g. after a settings change. */
  readonly onDidRestart = this.restartedEmitter.event;
  private teamDescription: string | undefined;
  private readonly firstIndex: Promise<void>;
  private resolveFirst!: () => void;
  private readonly firstSearchable: Promise<void>;
  private resolveSearchable!: () => void;
  /** The index was empty when it opened: questions asked before the first index ends get a note. */
  private coldStart = false;
  /** What the index held when it opened (the counts shown before its first update reports). */
  private openedCounts: { files: number; chunks: number } | undefined;
  roots: WorkspaceRoot[] = [];
  /** Set once start() has looked at the workspace folders. */
  private started = false;
  private watching = false;
  private editorsTracked = false;
  private lastActivity = 0;
  /** Documents already moved to the front of the embedding queue since they were last edited. */
  private readonly edited = new Set<string>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.statusItem = vscode.window.createStatusBarItem('groundwork.status', vscode.StatusBarAlignment.Left, 10);
    this.statusItem.name = 'Groundwork index';
    this.statusItem.command = 'groundwork.showStatus';
    this.firstSearchable = new Promise((resolve) => (this.resolveSearchable = resolve));
    this.firstIndex = new Promise((resolve) => {
      this.resolveFirst = () => {
        this.resolveSearchable();
        resolve();
      };
    });
    this.disposables.push(this.statusItem, this.onDidChangeEmitter, this.answeredByEmitter, this.restartedEmitter);
  }

  /** Resolves once the first index is searchable (keyword search complete; vectors may follow). */
  whenReady(): Promise<void> {
    return this.firstIndex;
  }

  /**
   * Resolves once questions can be answered, which can be before {@link whenReady}: as soon as the
   * worker's open returns when the index opened with files (the last session's index: the worker
   * answers from its read-only view while it loads in memory, then brings it up to date, questions
   * answered throughout); on a first index, once the open editors' files and their folders are indexed
   * (they come first, see embedQueue.ts), and {@link indexingNote} says what is not indexed yet;
   * with no editor open, when the keyword index is complete.
   */
  whenSearchable(): Promise<void> {
    return this.firstSearchable;
  }

  /**
   * A sentence for an answer searched while the first index of this workspace is still being built
   * (undefined otherwise): how much of it the search could see.
   */
  indexingNote(): string | undefined {
    const p = this.progress;
    if (!this.coldStart || this.ready || !p || (p.phase !== 'scan' && p.phase !== 'chunk')) return undefined;
    const of = p.phase === 'chunk' && p.filesTotal ? ` of ${p.filesTotal.toLocaleString('en-US')}` : '';
    return `The workspace is still being indexed (${p.filesDone.toLocaleString('en-US')}${of} files so far, the open files first): files not indexed yet could not be found.`;
  }

  get isReady(): boolean {
    return this.ready;
  }

  get indexDir(): string {
    const base = this.context.storageUri ?? this.context.globalStorageUri;
    return path.join(base.fsPath, 'index');
  }

  private computeRoots(): WorkspaceRoot[] {
    return uniqueRoots((vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => ({ name: f.name, dir: f.uri.fsPath })));
  }

  /** files.exclude globs that are on, as gitignore-style patterns. */
  private filesExclude(): string[] {
    const ex = vscode.workspace.getConfiguration('files').get<Record<string, boolean>>('exclude') ?? {};
    return Object.entries(ex)
      .filter(([, on]) => on === true)
      .map(([glob]) => glob.replace(/^\*\*\//, ''));
  }

  private embedSettings(s: GroundworkSettings, apiKey: string | undefined): EmbedSettings {
    return {
      provider: s['embeddings.provider'],
      model: s['embeddings.model'] || undefined,
      baseURL: s.baseUrl || undefined,
      apiKey,
    };
  }

  /** Opens the index for the current workspace folders and runs the first (incremental) update. */
  async start(apiKey: string | undefined): Promise<void> {
    this.roots = this.computeRoots();
    this.started = true;
    if (!this.roots.length) {
      this.ready = false;
      this.statusItem.text = '$(database) Groundwork: no folder';
      this.statusItem.tooltip = 'Open a folder to index it.';
      this.statusItem.show();
      this.resolveFirst();
      this.onDidChangeEmitter.fire();
      return;
    }
    const settings = readSettings();
    this.client = new IndexClient(resolveIndexWorker(this.context.extensionUri.fsPath), {
      onProgress: (p) => this.onProgress(p),
      onLog: (level, message) => this.log[level](message),
      onExit: (code) => this.log.warn(`The index worker stopped (exit code ${code}); it restarts on the next request.`),
      onAnsweredBy: (a) => this.answeredByEmitter.fire(a),
    });
    this.showState('$(sync~spin) Groundwork: opening index…');
    const trusted = vscode.workspace.isTrusted;
    const embed = this.embedSettings(settings, trusted ? apiKey : undefined);
    if (!trusted && embed.provider === 'openai') embed.provider = 'none';
    const offline = Boolean(process.env.GROUNDWORK_OFFLINE && process.env.GROUNDWORK_OFFLINE !== '0');
    const opened = await this.client.open({
      roots: this.roots,
      indexDir: this.indexDir,
      options: {
        chunkChars: settings.chunkChars,
        maxFileBytes: settings.maxFileBytes,
        extraExcludes: [...settings.exclude, ...this.filesExclude()],
        embedThrottle: throttleOf(settings),
      },
      embed,
      autoDownload: !offline,
    });
    this.vectorsReason = opened.vectorsReason;
    // An index with files answers at once (its update runs meanwhile); an empty one after its first files.
    this.coldStart = opened.files === 0;
    this.openedCounts = { files: opened.files, chunks: opened.chunks };
    if (!this.coldStart) this.resolveSearchable();
    if (opened.loading) this.log.info(`Answering from the index on disk (${opened.files} files) while it loads; changes are indexed once it has.`);
    if (this.vectorsReason) this.log.info(`Vectors are off: ${this.vectorsReason}`);
    this.trackEditors();
    // Open editors are embedded first (the active one ahead), then what questions retrieve.
    this.prioritize(this.openEditorPaths(), 'open');
    // Progress shows in our one status-bar item (a Window progress would add a second one).
    try {
      this.lastSummary = await this.client.update();
      this.log.info(`Indexed ${this.lastSummary.filesIndexed} files → ${this.lastSummary.chunks} chunks in ${(this.lastSummary.millis / 1000).toFixed(1)} s`);
    } catch (err) {
      this.log.error(`Indexing failed: ${errMessage(err)}`);
      void vscode.window.showErrorMessage(`Groundwork could not index the workspace: ${errMessage(err)}`, 'Show Log').then((a) => {
        if (a) this.log.show();
      });
    }
    this.ready = true;
    this.progress = undefined;
    this.refreshStatusItem();
    this.resolveFirst();
    this.watch();
  }

  private onProgress(p: IndexProgress): void {
    this.progress = p.phase === 'done' ? undefined : p;
    // A first index: the open editors' files (and their folders) are chunked first and searchable as soon as they are.
    if (p.phase === 'chunk' && p.priorityFiles && p.filesDone >= p.priorityFiles) this.resolveSearchable();
    if (p.phase === 'embed' && !this.ready) {
      // Keyword search is complete and saved once chunking is done: questions need not wait for
      // the vectors, and saves are indexed between embedding batches (the engine interleaves them).
      this.ready = true;
      this.resolveFirst();
      this.watch();
    }
    this.refreshStatusItem();
  }

  /** Index paths of the open editors: the active one first, then the visible ones, then the other tabs. */
  private openEditorPaths(): string[] {
    const uris: vscode.Uri[] = [];
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active) uris.push(active);
    for (const e of vscode.window.visibleTextEditors) uris.push(e.document.uri);
    for (const g of vscode.window.tabGroups.all) for (const t of g.tabs) if (t.input instanceof vscode.TabInputText) uris.push(t.input.uri);
    const out: string[] = [];
    for (const u of uris) {
      const p = u.scheme === 'file' ? this.indexPathOf(u.fsPath) : undefined;
      if (p && !out.includes(p)) out.push(p);
    }
    return out;
  }

  private prioritize(paths: string[], tier: EmbedTier): void {
    // Before the worker has opened the index (or after it stopped) there is nothing to reorder.
    this.client?.prioritize(paths, tier).catch(() => undefined);
  }

  /** Editors opened, switched to or edited move their files to the front of the embedding queue; typing pauses embedding. */
  private trackEditors(): void {
    if (this.editorsTracked) return;
    this.editorsTracked = true;
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((e) => {
        const p = e?.document.uri.scheme === 'file' ? this.indexPathOf(e.document.uri.fsPath) : undefined;
        if (p) this.prioritize([p], 'open');
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.scheme !== 'file' || !e.contentChanges.length) return;
        const p = this.indexPathOf(e.document.uri.fsPath);
        if (!p) return;
        const now = Date.now();
        if (now - this.lastActivity >= ACTIVITY_INTERVAL_MS) {
          this.lastActivity = now;
          this.client?.activity().catch(() => undefined);
        }
        if (!this.edited.has(p)) {
          this.edited.add(p);
          this.prioritize([p], 'open');
        }
      }),
      vscode.workspace.onDidSaveTextDocument((d) => {
        const p = this.indexPathOf(d.uri.fsPath);
        if (p) this.edited.delete(p);
      }),
    );
  }

  private showState(text: string, tooltip?: string): void {
    this.statusItem.text = text;
    this.statusItem.tooltip = tooltip ?? 'Groundwork — click for index status';
    this.statusItem.show();
    this.onDidChangeEmitter.fire();
  }

  private refreshStatusItem(): void {
    const p = this.progress;
    if (p) {
      if (p.phase === 'embed') {
        const left = p.etaSeconds !== undefined && p.etaSeconds > 0 ? ` · ${formatEta(p.etaSeconds)} left` : '';
        const rate = p.embedRate !== undefined ? `\n${p.embedRate.toFixed(1)} chunks/s (measured), ${p.embedToCompute ?? 0} chunks to go` : '';
        this.showState(
          `$(sync~spin) Groundwork: embedding ${p.embedDone}/${p.embedTotal}${left}`,
          `Keyword search is ready; semantic search covers more files as their vectors arrive (open files and the files your questions found first).${rate}\nClick for details`,
        );
        return;
      }
      if (p.phase === 'load') {
        this.showState(
          '$(sync~spin) Groundwork: loading the index',
          'Questions are answered from the index on disk while it loads; changes are indexed once it has.\nClick for details',
        );
        return;
      }
      const label = p.phase === 'scan' ? `scanning (${p.filesTotal} files)` : p.phase === 'write' ? 'saving' : `${p.filesDone}/${p.filesTotal} files`;
      this.showState(`$(sync~spin) Groundwork: ${label}`);
      return;
    }
    const s = this.lastSummary;
    const counts = this.counts();
    const vectors = s?.vectors === 'ready' ? 'hybrid' : 'keyword';
    this.showState(
      `$(database) Groundwork: ${counts.files} files`,
      `${counts.chunks} chunks · ${vectors} search${this.vectorsReason ? `\nVectors off: ${this.vectorsReason}` : ''}\nClick for details`,
    );
  }

  /** A short state line for the chat view header. */
  stateLine(): string {
    if (this.noFolder) return 'No folder open';
    const p = this.progress;
    if (p) {
      if (p.phase === 'embed') {
        const left = p.etaSeconds !== undefined && p.etaSeconds > 0 ? `, ${formatEta(p.etaSeconds)} left` : '';
        return `Embedding ${p.embedDone}/${p.embedTotal} chunks${left} (keyword search meanwhile)`;
      }
      if (p.phase === 'write') return 'Saving the index';
      if (p.phase === 'load') return 'Loading the index (answering from disk meanwhile)';
      // Before the scan has counted anything there is no "n of m" to show.
      if (p.phase === 'scan' || !p.filesTotal) return 'Scanning the workspace';
      return `Indexing ${p.filesDone}/${p.filesTotal} files`;
    }
    return this.ready ? (this.teamDescription ? `Ready · ${this.teamDescription}` : 'Ready') : 'Starting';
  }

  /** What the team index says about itself (undefined without one), for the chat view header. */
  setTeamDescription(text: string | undefined): void {
    if (text === this.teamDescription) return;
    this.teamDescription = text;
    this.onDidChangeEmitter.fire();
  }

  /** True when no folder (with a file: URI) is open: there is nothing to index or search. */
  get noFolder(): boolean {
    return this.started && this.roots.length === 0;
  }

  get summary(): IndexRunSummary | undefined {
    return this.lastSummary;
  }

  /** Files and chunks searchable now: live while an update's chunk phase runs, else the last update's (or the open's). */
  counts(): { files: number; chunks: number } {
    const p = this.progress;
    if (p?.filesIndexed !== undefined) return { files: p.filesIndexed, chunks: p.chunks };
    if (this.lastSummary) return { files: this.lastSummary.filesIndexed, chunks: this.lastSummary.chunks };
    return { files: this.openedCounts?.files ?? 0, chunks: p?.chunks ?? this.openedCounts?.chunks ?? 0 };
  }

  get reasonVectorsOff(): string | undefined {
    return this.vectorsReason;
  }

  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    const watcher = vscode.workspace.createFileSystemWatcher('**/*');
    const queue = (uri: vscode.Uri) => {
      if (uri.scheme !== 'file') return;
      this.changed.add(uri.fsPath);
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.flushChanges(), DEBOUNCE_MS);
    };
    this.disposables.push(
      watcher,
      watcher.onDidCreate(queue),
      watcher.onDidChange(queue),
      watcher.onDidDelete(queue),
      vscode.workspace.onDidSaveTextDocument((d) => queue(d.uri)),
      vscode.workspace.onDidRenameFiles((e) => e.files.forEach((f) => (queue(f.oldUri), queue(f.newUri)))),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.restart()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (
          e.affectsConfiguration('groundwork.chunkChars') ||
          e.affectsConfiguration('groundwork.maxFileBytes') ||
          e.affectsConfiguration('groundwork.exclude') ||
          e.affectsConfiguration('groundwork.embeddings.provider') ||
          e.affectsConfiguration('groundwork.embeddings.model') ||
          e.affectsConfiguration('files.exclude')
        ) {
          void this.restart();
        } else if (e.affectsConfiguration('groundwork.embeddings.cpuShare') || e.affectsConfiguration('groundwork.embeddings.pauseWhileTyping')) {
          // Takes effect at the next batch; nothing is re-indexed.
          this.client?.setThrottle(throttleOf(readSettings())).catch((err: unknown) => this.log.warn(`Could not change the embedding pace: ${errMessage(err)}`));
        }
      }),
    );
  }

  private async flushChanges(): Promise<void> {
    // While the index (re)opens, its first update scans every file anyway: nothing to send yet,
    // and the worker would answer "the index is not open".
    if (!this.ready || !this.client) return;
    const paths = [...this.changed];
    this.changed.clear();
    if (!paths.length) return;
    try {
      const updated = await this.client.updateFiles(paths);
      if (updated.length) {
        this.log.debug(`Re-indexed ${updated.join(', ')}`);
        this.onDidChangeEmitter.fire();
      }
    } catch (err) {
      this.log.warn(`Could not update the index for ${paths.length} file(s): ${errMessage(err)}`);
    }
  }

  /** Waits until pending edits are indexed (used before answering, and by tests). */
  async settle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.flushChanges();
  }

  private restarting: Promise<void> | undefined;

  /** Reopens with new settings or folders (the engine rebuilds only what the change requires). */
  restart(apiKey?: string): Promise<void> {
    this.restarting ??= (async () => {
      try {
        await this.client?.dispose();
        this.client = undefined;
        this.ready = false;
        await this.start(apiKey);
        this.restartedEmitter.fire();
      } finally {
        this.restarting = undefined;
      }
    })();
    return this.restarting;
  }

  async rebuild(): Promise<IndexRunSummary | undefined> {
    if (!this.client) return undefined;
    this.lastSummary = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Groundwork: rebuilding the index', cancellable: false }, () =>
      this.client!.rebuild(),
    );
    this.refreshStatusItem();
    return this.lastSummary;
  }

  async status(): Promise<StatusWithReason | undefined> {
    return this.client?.status();
  }

  requireClient(): IndexClient {
    if (!this.client) throw new Error('No workspace folder is open, so there is nothing to search. Open a folder first.');
    return this.client;
  }

  /** Absolute path of an index path (single root: relative path; several: `<root name>/<path>`). */
  absolutePath(indexPath: string): string | undefined {
    return absolutePathOf(this.roots, indexPath);
  }

  /** Index path of a file in the workspace, or undefined when it is outside every root. */
  indexPathOf(fsPath: string): string | undefined {
    return indexPathOf(this.roots, fsPath);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    void this.client?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
