/** A parsed HTTP answer: status, lower-cased headers, and the body (JSON when it parses). */
export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  headers: Record<string, string>;
  body: T;
  text: string;
}

/** Real HTTP over loopback with Node's fetch. `body` objects are sent as JSON; strings as given. */
export async function http<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    body: body as T,
    text,
  };
}
