/** Terminal output helpers for the CLI: a logger on stderr and a progress bar that only draws on a TTY. */
import type { Logger } from '../core/types';
import type { IndexProgress } from '../core/workspaceIndex';

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

/** Draws `[#####.....] phase n/N` on stderr when it is a terminal; silent otherwise. */
export class ProgressBar {
  private readonly enabled = Boolean(process.stderr.isTTY) && !process.env.CI;
  private lastDraw = 0;
  private drawn = false;

  update(p: IndexProgress): void {
    if (!this.enabled) return;
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
      label = `embedding ${done}/${total} chunks`;
    } else if (p.phase === 'write') label = 'writing index…';
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
