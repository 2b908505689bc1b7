/** Terminal output helpers for the CLI: a logger on stderr and a progress bar that only draws on a TTY. */
import type { Logger } from '../core/types';
import { formatEta } from '../core/embedQueue';
import type { IndexProgress } from '../core/workspaceIndex';

/** Without a terminal, a progress line of the embedding phase at most this often (30 s). */
export const PLAIN_PROGRESS_MS = 30_000;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function stderrLogger(verbose: boolean): Logger {
  return {
    info: (m) => process.stderr.write(`${m}\n`),
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    error: (m) => process.stderr.write(`error: ${m}\n`),
    debug: verbose ? (m) => process.stderr.write(`debug: ${m}\n`) : undefined,
  };
}

/** The embedding phase's rate and time left, e.g. `14.2 chunks/s · 25 min left` (empty before a measurement). */
export function embedEta(p: IndexProgress): string {
  if (p.embedRate === undefined || p.etaSeconds === undefined) return '';
  return `${p.embedRate >= 10 ? p.embedRate.toFixed(0) : p.embedRate.toFixed(1)} chunks/s · ${p.etaSeconds > 0 ? `${formatEta(p.etaSeconds)} left` : 'done'}`;
}

/**
 * Draws `[#####.....] phase n/N` on stderr when it is a terminal. Otherwise (a log, CI) it prints a
 * plain line every {@link PLAIN_PROGRESS_MS} of the embedding phase, the one phase long enough to
 * need it, with the rate and the time left.
 */
export class ProgressBar {
  private readonly enabled = Boolean(process.stderr.isTTY) && !process.env.CI;
  private lastDraw = 0;
  private lastPlain = Date.now();
  private drawn = false;

  update(p: IndexProgress): void {
    if (!this.enabled) {
      if (p.phase === 'embed' && p.embedTotal && Date.now() - this.lastPlain >= PLAIN_PROGRESS_MS) {
        this.lastPlain = Date.now();
        const eta = embedEta(p);
        process.stderr.write(`embedding ${p.embedDone}/${p.embedTotal} chunks${eta ? ` · ${eta}` : ''} (keyword search works meanwhile)\n`);
      }
      return;
    }
    const now = Date.now();
    if (now - this.lastDraw < 80 && p.phase !== 'done') return;
    this.lastDraw = now;
    let done = 0;
    let total = 0;
    let label = '';
    if (p.phase === 'scan') label = `scanning… ${p.filesTotal} files found`;
    else if (p.phase === 'chunk') {
      done = p.filesDone;
      total = p.filesTotal;
      label = `indexing ${done}/${total} files · ${p.chunks} chunks`;
    } else if (p.phase === 'embed') {
      done = p.embedDone;
      total = p.embedTotal;
      const eta = embedEta(p);
      label = `embedding ${done}/${total} chunks${eta ? ` · ${eta}` : ''}`;
    } else if (p.phase === 'write') label = 'writing index…';
    else if (p.phase === 'load') label = 'loading the index…';
    else label = 'done';
    const width = 24;
    const filled = total ? Math.round((done / total) * width) : 0;
    const bar = total ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    const cols = process.stderr.columns || 100;
    const line = `${bar}${label}`.slice(0, cols - 1);
    process.stderr.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }

  finish(): void {
    if (this.enabled && this.drawn) process.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

export function formatCounts(counts: Record<string, number | undefined>): string {
  const entries = Object.entries(counts).filter(([, v]) => v) as Array<[string, number]>;
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return entries.map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
}

/**
 * `text` safe to print on a terminal: control characters other than newline and tab (ESC, CSI, BEL,
 * carriage return…) are shown as `\xNN`, so a file name, file content or a model answer cannot
 * move the cursor, retitle the window or hide text.
 */
export function printable(text: string): string {
  // A CR that ends a line (CRLF files) is dropped rather than shown.
  return text.replace(/\r(?=\n|$)/g, '').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
