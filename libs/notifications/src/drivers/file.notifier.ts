import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Channel } from '@app/common';
import { DeliveryReceipt, Notifier, OutgoingMessage } from '../notifier';

/** One line of NOTIFY_FILE (API.md §6); the key order is part of the format. */
export interface NotifyFileLine {
  channel: Channel;
  to: string;
  body: string;
  code: string | null;
  authCode: string | null;
  at: string;
  /** The text's locale (CHANNELS.md adds it; null when the message had none). */
  locale: string | null;
  /** Email only. */
  subject?: string;
}

/** How often the open file is checked against the path (removed or replaced by a tool). */
const RECHECK_MS = 1_000;

/**
 * Development driver: appends each message as a JSON line, so e2e tests and local tools can read
 * the codes back. Refused in production. The file stays open in append mode (an open and a close
 * per message were a tenth of the API's CPU under load); when the path stops naming the open
 * file (deleted, rotated), the next send after a second opens it anew.
 */
export class FileNotifier extends Notifier {
  readonly name = 'file';
  private file?: Promise<FileHandle>;
  private checkedAt = 0;

  constructor(
    private readonly path: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    super();
  }

  async send(message: OutgoingMessage, signal?: AbortSignal): Promise<DeliveryReceipt> {
    signal?.throwIfAborted();
    const line: NotifyFileLine = {
      channel: message.channel,
      to: message.to,
      body: message.body,
      code: message.code ?? null,
      authCode: message.authCode ?? null,
      at: this.clock().toISOString(),
      locale: message.locale ?? null,
      ...(message.channel === 'email' ? { subject: message.subject ?? '' } : {}),
    };
    // One write of the whole line in append mode: concurrent sends never interleave within a line.
    await (await this.handle()).write(`${JSON.stringify(line)}\n`);
    return {};
  }

  async onModuleDestroy(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await (await file?.catch(() => undefined))?.close();
  }

  private handle(): Promise<FileHandle> {
    const now = Date.now();
    if (this.file && now - this.checkedAt < RECHECK_MS) return this.file;
    this.checkedAt = now;
    const current = this.file;
    this.file = this.reopenIfMoved(current);
    return this.file;
  }

  private async reopenIfMoved(current?: Promise<FileHandle>): Promise<FileHandle> {
    const file = await current?.catch(() => undefined);
    if (file) {
      const [open, named] = await Promise.all([
        file.stat(),
        stat(this.path).catch(() => undefined),
      ]);
      if (named && named.ino === open.ino && named.dev === open.dev) return file;
      await file.close().catch(() => undefined);
    }
    await mkdir(dirname(this.path), { recursive: true });
    return open(this.path, 'a');
  }
}
