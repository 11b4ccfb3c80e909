import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';

/** One line of NOTIFY_FILE (API.md §6). */
interface NotifyLine {
  to: string;
  code: string | null;
  authCode: string | null;
}

const CHUNK = 1 << 20;

/**
 * Reads the codes the file notify driver writes, incrementally: it keeps its byte offset and only
 * parses what was appended since. Synchronous, because autocannon builds a request synchronously;
 * the driver appends the line before the register answer is sent, so one read finds it.
 */
export class NotifyTail {
  private offset = 0;
  /** Bytes after the last newline read so far: a line still being written. */
  private partial = Buffer.alloc(0);
  /** `${to} ${authCode}` -> newest code. */
  private readonly codes = new Map<string, string>();
  private readonly buffer = Buffer.alloc(CHUNK);
  linesRead = 0;

  constructor(private readonly path: string) {}

  /** Forget everything written so far (lines of earlier scenarios need no parsing). */
  skipToEnd(): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      this.offset = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
    this.partial = Buffer.alloc(0);
  }

  /** The code sent to `e164` for `authCode`, reading the file's new lines when not known yet. */
  take(e164: string, authCode: string): string | undefined {
    const key = `${e164} ${authCode}`;
    let code = this.codes.get(key);
    if (code === undefined) {
      this.readNew();
      code = this.codes.get(key);
    }
    if (code !== undefined) this.codes.delete(key);
    return code;
  }

  readNew(): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      for (;;) {
        const read = readSync(fd, this.buffer, 0, CHUNK, this.offset);
        if (read === 0) break;
        this.offset += read;
        // Split at newline bytes only, so a chunk boundary never cuts a UTF-8 character.
        const bytes = Buffer.concat([this.partial, this.buffer.subarray(0, read)]);
        const end = bytes.lastIndexOf(0x0a);
        if (end < 0) {
          this.partial = bytes;
          continue;
        }
        this.partial = Buffer.from(bytes.subarray(end + 1));
        for (const line of bytes.toString('utf8', 0, end).split('\n')) this.add(line);
      }
    } finally {
      closeSync(fd);
    }
  }

  private add(line: string): void {
    if (!line) return;
    this.linesRead++;
    const message = JSON.parse(line) as NotifyLine;
    if (message.code && message.authCode) {
      this.codes.set(`${message.to} ${message.authCode}`, message.code);
    }
  }
}
