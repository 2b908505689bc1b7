/**
 * A file of named binary sections, each with its own CRC-32, so a reader can open it by reading
 * only its header and the sections it needs, and check what it reads as it reads it.
 *
 * Layout: 16 bytes (magic u32, version u32, header length u32, CRC-32 of the header u32, all
 * little-endian), the header (JSON: caller fields + `sections: { name: [offset, length, crc] }`),
 * then the sections, each starting at an 8-byte-aligned offset (typed-array views need no copy).
 * The file's size must be exactly the end of its last section: a truncated file is refused at open.
 *
 * Written by {@link sectionFileParts} as a list of buffers (never joined in memory; written with
 * writeFileAtomic, so a reader sees the old file or the new one). {@link SectionFile} reads one:
 * whole (every section checked, a writer's open) or by positioned reads on a descriptor opened once,
 * so a writer replacing the file (a rename) never mixes two versions into one reader's view.
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { crc32 } from './vectorCodec';

export class SectionFileError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SectionFileError';
  }
}

type SectionTable = Record<string, [offset: number, length: number, crc: number]>;

const PREFIX = 16;
const align8 = (n: number) => n + ((8 - (n % 8)) % 8);

/**
 * The parts of a section file (write them in order). Section bodies may be given as several
 * buffers (concatenated); they are views, never copied.
 */
export function sectionFileParts(magic: number, version: number, header: Record<string, unknown>, sections: ReadonlyArray<[string, Uint8Array | Uint8Array[]]>): Buffer[] {
  const table: SectionTable = {};
  const bodies: Array<{ parts: Uint8Array[]; length: number; crc: number }> = sections.map(([, body]) => {
    const parts = Array.isArray(body) ? body : [body];
    let crc = 0;
    let length = 0;
    for (const p of parts) {
      crc = crc32(p, crc);
      length += p.byteLength;
    }
    return { parts, length, crc };
  });
  // Offsets depend on the header's length, which depends on the offsets' digits: iterate to a fixpoint.
  let headerBytes = Buffer.alloc(0);
  for (let guess = 0; ;) {
    let o = align8(PREFIX + guess);
    sections.forEach(([name], i) => {
      table[name] = [o, bodies[i]!.length, bodies[i]!.crc];
      o = align8(o + bodies[i]!.length);
    });
    headerBytes = Buffer.from(JSON.stringify({ ...header, sections: table }), 'utf8');
    if (align8(PREFIX + headerBytes.length) === align8(PREFIX + guess)) break;
    guess = headerBytes.length;
  }
  const prefix = Buffer.alloc(PREFIX);
  prefix.writeUInt32LE(magic, 0);
  prefix.writeUInt32LE(version, 4);
  prefix.writeUInt32LE(headerBytes.length, 8);
  prefix.writeUInt32LE(crc32(headerBytes), 12);
  const out: Buffer[] = [prefix, headerBytes];
  let at = PREFIX + headerBytes.length;
  const pad = (to: number) => {
    if (to > at) out.push(Buffer.alloc(to - at));
    at = to;
  };
  sections.forEach(([name], i) => {
    pad(table[name]![0]);
    for (const p of bodies[i]!.parts) out.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    at += bodies[i]!.length;
  });
  return out;
}

/** Reads the prefix and header of a section file from its first bytes; throws {@link SectionFileError}. */
function parseHead(head: Buffer, magic: number, version: number, what: string): { headerLength: number; header?: Record<string, unknown> & { sections: SectionTable } } {
  if (head.length < PREFIX || head.readUInt32LE(0) !== magic) throw new SectionFileError(`not a ${what} file`);
  const v = head.readUInt32LE(4);
  if (v !== version) throw new SectionFileError(`format ${v}, expected ${version}`);
  const headerLength = head.readUInt32LE(8);
  if (head.length < PREFIX + headerLength) return { headerLength };
  const bytes = head.subarray(PREFIX, PREFIX + headerLength);
  if (crc32(bytes) !== head.readUInt32LE(12)) throw new SectionFileError('its header fails its checksum');
  let header: Record<string, unknown> & { sections: SectionTable };
  try {
    header = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SectionFileError('bad header');
  }
  if (!header || typeof header.sections !== 'object' || header.sections === null) throw new SectionFileError('bad header');
  for (const s of Object.values(header.sections)) {
    if (!Array.isArray(s) || s.length !== 3 || !s.every((x) => Number.isSafeInteger(x) && x >= 0)) throw new SectionFileError('bad section table');
  }
  return { headerLength, header };
}

function expectedSize(headerLength: number, sections: SectionTable): number {
  let end = PREFIX + headerLength;
  for (const [o, l] of Object.values(sections)) {
    if (o < PREFIX + headerLength || o % 8 !== 0) throw new SectionFileError('bad section table');
    end = Math.max(end, o + l);
  }
  return end;
}

/** A section file read whole (every section's checksum verified): the writer's open. */
export function parseSectionFile(buf: Buffer, magic: number, version: number, what: string): { header: Record<string, unknown>; section(name: string): Buffer } {
  const { headerLength, header } = parseHead(buf, magic, version, what);
  if (!header) throw new SectionFileError(`size ${buf.length}, shorter than its header (truncated?)`);
  const size = expectedSize(headerLength, header.sections);
  if (buf.length !== size) throw new SectionFileError(`size ${buf.length}, expected ${size} (truncated?)`);
  const sections = header.sections;
  return {
    header,
    section(name: string): Buffer {
      const s = sections[name];
      if (!s) throw new SectionFileError(`section ${name} is missing`);
      const body = buf.subarray(s[0], s[0] + s[1]);
      if (crc32(body) !== s[2]) throw new SectionFileError(`section ${name} fails its checksum`);
      return body;
    },
  };
}

/**
 * A section file opened for positioned reads. The descriptor is opened once: reads after a writer
 * replaced the file (atomically, by rename) still see the version that was opened.
 */
export class SectionFile {
  private closed = false;

  private constructor(
    private readonly fd: number,
    readonly header: Record<string, unknown>,
    private readonly sections: SectionTable,
    private readonly what: string,
  ) {}

  /** Opens and checks the prefix, header and size; throws {@link SectionFileError} (or ENOENT). */
  static async open(file: string, magic: number, version: number, what: string): Promise<SectionFile> {
    const fd = await promisify(fs.open)(file, 'r');
    try {
      const size = (await promisify(fs.fstat)(fd)).size;
      let head = Buffer.allocUnsafe(Math.min(size, 64 * 1024));
      await readAt(fd, head, 0, what);
      let parsed = parseHead(head, magic, version, what);
      if (!parsed.header) {
        if (size < PREFIX + parsed.headerLength) throw new SectionFileError(`size ${size}, shorter than its header (truncated?)`);
        head = Buffer.allocUnsafe(PREFIX + parsed.headerLength);
        await readAt(fd, head, 0, what);
        parsed = parseHead(head, magic, version, what);
      }
      const header = parsed.header!;
      const expected = expectedSize(parsed.headerLength, header.sections);
      if (size !== expected) throw new SectionFileError(`size ${size}, expected ${expected} (truncated?)`);
      return new SectionFile(fd, header, header.sections, what);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  has(name: string): boolean {
    return name in this.sections;
  }

  /** Byte length of a section. */
  length(name: string): number {
    return this.entry(name)[1];
  }

  private entry(name: string): [number, number, number] {
    const s = this.sections[name];
    if (!s) throw new SectionFileError(`${this.what}: section ${name} is missing`);
    return s;
  }

  /** A whole section, checked against its CRC (a buffer of its own, 8-byte aligned). */
  async section(name: string): Promise<Buffer> {
    const [o, l, crc] = this.entry(name);
    const buf = Buffer.allocUnsafeSlow(l);
    await this.read(buf, o);
    if (crc32(buf) !== crc) throw new SectionFileError(`${this.what}: section ${name} fails its checksum`);
    return buf;
  }

  /** `length` bytes at `offset` inside a section (unchecked: the caller checks them). */
  async range(name: string, offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafeSlow(length);
    await this.read(buf, this.at(name, offset, length));
    return buf;
  }

  /** {@link range}, synchronously. */
  rangeSync(name: string, offset: number, length: number): Buffer {
    const buf = Buffer.allocUnsafeSlow(length);
    const pos = this.at(name, offset, length);
    let off = 0;
    while (off < length) {
      const n = fs.readSync(this.fd, buf, off, length - off, pos + off);
      if (n === 0) throw new SectionFileError(`${this.what}: unexpected end of file`);
      off += n;
    }
    return buf;
  }

  private at(name: string, offset: number, length: number): number {
    if (this.closed) throw new SectionFileError(`${this.what} is closed`);
    const [o, l] = this.entry(name);
    if (offset < 0 || length < 0 || offset + length > l) throw new SectionFileError(`${this.what}: read outside section ${name}`);
    return o + offset;
  }

  private read(buf: Buffer, pos: number): Promise<void> {
    if (this.closed) return Promise.reject(new SectionFileError(`${this.what} is closed`));
    return readAt(this.fd, buf, pos, this.what);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

/** Fills `buf` from `pos` of `fd`; throws at end of file. */
function readAt(fd: number, buf: Buffer, pos: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) => {
      if (off >= buf.length) return resolve();
      fs.read(fd, buf, off, buf.length - off, pos + off, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return reject(new SectionFileError(`${what}: unexpected end of file`));
        step(off + n);
      });
    };
    step(0);
  });
}
