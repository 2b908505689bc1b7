/** The file as lines: BOM stripped, every line break (CRLF, CR, LF) turned into `\n`. */
export class SourceLines {
  readonly text: string;
  /** starts[i] = offset of line i; starts[count] = text.length + 1 (a virtual line after the end). */
  private readonly starts: Int32Array;
  private readonly blankFlags: Uint8Array;
  readonly count: number;

  constructor(raw: string) {
    let text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    // Editors count CRLF and a lone CR as one line break each; tree-sitter rows only count LF.
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    this.text = text;
    let count = 1;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
    this.count = count;
    this.starts = new Int32Array(count + 1);
    this.blankFlags = new Uint8Array(count);
    let line = 0;
    let blank = 1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        this.blankFlags[line] = blank;
        line++;
        this.starts[line] = i + 1;
        blank = 1;
      } else if (blank && c !== 32 && c !== 9 && c !== 11 && c !== 12) {
        blank = 0;
      }
    }
    this.blankFlags[line] = blank;
    this.starts[count] = text.length + 1;
  }

  start(line: number): number {
    return this.starts[line] ?? this.text.length;
  }

  /** Offset just past the last character of `line` (before its `\n`). */
  end(line: number): number {
    return (this.starts[line + 1] ?? this.text.length + 1) - 1;
  }

  isBlank(line: number): boolean {
    return this.blankFlags[line] === 1;
  }

  /** Characters of lines a..b joined by `\n` (what the chunk text would be). O(1). */
  size(a: number, b: number): number {
    return this.end(b) - this.start(a);
  }

  slice(a: number, b: number): string {
    return this.text.slice(this.start(a), this.end(b));
  }

  hasBlankBetween(a: number, b: number): boolean {
    for (let i = a + 1; i < b; i++) if (this.isBlank(i)) return true;
    return false;
  }
}
