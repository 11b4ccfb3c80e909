import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutgoingMessage } from '../notifier';
import { FileNotifier, NotifyFileLine } from './file.notifier';

const AT = new Date('2024-05-06T07:08:09.010Z');

function message(overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    id: 'outbox-1',
    channel: 'sms',
    to: '+919876543210',
    body: 'Your code is 123456',
    code: '123456',
    authCode: '987654',
    ...overrides,
  };
}

describe('FileNotifier', () => {
  let dir: string;
  const made: FileNotifier[] = [];
  const notifierAt = (path: string, clock?: () => Date) => {
    const notifier = new FileNotifier(path, clock);
    made.push(notifier);
    return notifier;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-notifier-'));
  });
  afterEach(async () => {
    // The notifier keeps its file open.
    for (const notifier of made.splice(0)) await notifier.onModuleDestroy();
    await rm(dir, { recursive: true, force: true });
  });

  async function lines(path: string): Promise<string[]> {
    const content = await readFile(path, 'utf8');
    expect(content.endsWith('\n')).toBe(true);
    return content.slice(0, -1).split('\n');
  }

  it('appends one JSON line in the fixed format and key order', async () => {
    const path = join(dir, 'outbox.jsonl');

    const receipt = await notifierAt(path, () => AT).send(message());

    expect(receipt).toEqual({});
    expect(await lines(path)).toEqual([
      '{"channel":"sms","to":"+919876543210","body":"Your code is 123456",' +
        '"code":"123456","authCode":"987654","at":"2024-05-06T07:08:09.010Z","locale":null}',
    ]);
  });

  it('adds the locale, and for email the subject (CHANNELS.md); Telegram goes to the chat id', async () => {
    const path = join(dir, 'outbox.jsonl');
    const notifier = notifierAt(path, () => AT);

    await notifier.send(message({ locale: 'hi' }));
    await notifier.send(
      message({
        channel: 'email',
        to: 'asha@example.com',
        subject: '123456 is your code',
        locale: 'en',
      }),
    );
    await notifier.send(message({ channel: 'telegram', to: '123456789', locale: 'es' }));

    const [sms, email, telegram] = (await lines(path)).map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    expect(sms).toMatchObject({ channel: 'sms', locale: 'hi' });
    expect(sms).not.toHaveProperty('subject');
    expect(Object.keys(email)).toEqual([
      'channel',
      'to',
      'body',
      'code',
      'authCode',
      'at',
      'locale',
      'subject',
    ]);
    expect(email).toMatchObject({ to: 'asha@example.com', subject: '123456 is your code' });
    expect(telegram).toMatchObject({ channel: 'telegram', to: '123456789', locale: 'es' });
  });

  it('writes null for a missing code or authCode', async () => {
    const path = join(dir, 'outbox.jsonl');

    await notifierAt(path, () => AT).send(message({ code: undefined, authCode: undefined }));

    const [line] = await lines(path);
    expect(Object.keys(JSON.parse(line))).toEqual([
      'channel',
      'to',
      'body',
      'code',
      'authCode',
      'at',
      'locale',
    ]);
    expect(JSON.parse(line)).toMatchObject({ code: null, authCode: null });
  });

  it('appends a line per message, keeping earlier ones, and creates missing directories', async () => {
    const path = join(dir, 'nested', 'deeper', 'outbox.jsonl');
    const notifier = notifierAt(path);

    await notifier.send(message({ to: '+14155550123', body: 'first\nline', code: '111111' }));
    await notifier.send(message({ to: '+442071838750', body: 'second', code: '222222' }));

    const parsed = (await lines(path)).map((line) => JSON.parse(line) as NotifyFileLine);
    expect(parsed).toHaveLength(2);
    expect(parsed[0]).toMatchObject({ to: '+14155550123', body: 'first\nline', code: '111111' });
    expect(parsed[1]).toMatchObject({ to: '+442071838750', body: 'second', code: '222222' });
    expect(Date.parse(parsed[1].at)).not.toBeNaN();
  });

  it('keeps lines whole when sends run concurrently', async () => {
    const path = join(dir, 'outbox.jsonl');
    const notifier = notifierAt(path);
    const body = 'x'.repeat(4000);

    await Promise.all(
      Array.from({ length: 20 }, (_, i) => notifier.send(message({ body, code: String(i) }))),
    );

    const codes = (await lines(path)).map((line) => (JSON.parse(line) as NotifyFileLine).code);
    expect(codes.sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
  });

  it('keeps writing after the file is removed, to a new file at the same path', async () => {
    const path = join(dir, 'outbox.jsonl');
    const notifier = notifierAt(path);
    await notifier.send(message({ code: '111111' }));
    await rm(path);
    // The open file is checked against the path at most once a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await notifier.send(message({ code: '222222' }));
    const codes = (await lines(path)).map((line) => (JSON.parse(line) as NotifyFileLine).code);
    expect(codes).toEqual(['222222']);
  });
});
