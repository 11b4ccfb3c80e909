/**
 * The development reference page's script (served bundled at /dev/page.js): signs the element in
 * with a development token the server mints, and shows the file driver's inbox.
 */
import { defineOtpLinkVerify, type OtpLinkVerifyElement } from '../src';

interface DevToken {
  token: string;
  userId: string;
}

interface Inbox {
  driver: string;
  file: boolean;
  messages: Array<{ channel: string; to: string; body: string; at: string }>;
}

const INBOX_EVERY_MS = 1500;

async function devToken(): Promise<DevToken> {
  const response = await fetch('/dev/token', { method: 'POST' });
  if (!response.ok) throw new Error(`development token: ${response.status}`);
  return (await response.json()) as DevToken;
}

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`no #${id}`);
  return found as T;
}

let shown = '';

async function refreshInbox(): Promise<void> {
  const note = byId('inbox-note');
  try {
    const response = await fetch('/dev/inbox');
    const inbox = (await response.json()) as Inbox;
    if (!inbox.file) {
      note.textContent =
        `Messages go to the "${inbox.driver}" driver: the codes are printed in the server's ` +
        'console. Start the server with NOTIFY_DRIVER=file NOTIFY_FILE=.data/messages.jsonl to see them here.';
      return;
    }
    note.textContent =
      inbox.messages.length === 0
        ? 'No messages yet: send a code.'
        : 'The newest messages of the file driver, newest first.';
    const key = JSON.stringify(inbox.messages);
    if (key === shown) return;
    shown = key;
    byId('inbox-list').replaceChildren(
      ...inbox.messages.map((message) => {
        const item = document.createElement('li');
        const meta = document.createElement('span');
        meta.className = 'meta';
        meta.textContent = `${message.channel} to ${message.to} at ${new Date(message.at).toLocaleTimeString()}`;
        item.append(meta, message.body);
        return item;
      }),
    );
  } catch {
    note.textContent = 'The inbox could not be read.';
  }
}

async function main(): Promise<void> {
  defineOtpLinkVerify();
  const element = document.querySelector<OtpLinkVerifyElement>('otp-link-verify');
  if (!element) return;
  // One development user per page load: reload for a fresh one.
  const session = devToken();
  element.tokenProvider = async () => (await session).token;
  byId('user').textContent = (await session).userId;
  await refreshInbox();
  setInterval(() => void refreshInbox(), INBOX_EVERY_MS);
}

void main();
