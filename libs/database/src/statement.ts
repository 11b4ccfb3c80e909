import { createHash } from 'node:crypto';

/** A statement of the request path: its text, and the name it is prepared under. */
export interface Statement {
  name: string;
  text: string;
}

/** Names a statement after its text, so one text is prepared once per connection. */
export function statement(text: string): Statement {
  return { name: `s_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text };
}
