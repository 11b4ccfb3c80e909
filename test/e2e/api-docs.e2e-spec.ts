import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_STATUS } from '@app/common';
import { http } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, { description?: string }> }>>;
}

const DOCS = join(__dirname, '..', '..', 'docs');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** The `| ... |` rows of the markdown table that follows `heading`. */
function tableAfter(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(heading);
  if (start < 0) throw new Error(`no "${heading}" in the page`);
  const lines = markdown.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  // Header and separator rows.
  return rows.slice(2);
}

/**
 * docs/api.md, the contract in the repository, against the OpenAPI document the service serves
 * (/docs-json) and the code's error catalogue: a new endpoint or error code that is missing from
 * one of them fails here.
 */
describe('docs/api.md and the OpenAPI document', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  const page = readFileSync(join(DOCS, 'api.md'), 'utf8');

  beforeAll(async () => {
    t = await startTestApp();
    doc = (await http<OpenApiDocument>(t.url, 'GET', '/docs-json')).body;
  });

  afterAll(async () => {
    await t.close();
  });

  const documented = () =>
    Object.entries(doc.paths)
      .flatMap(([path, operations]) =>
        Object.keys(operations)
          .filter((method) => METHODS.includes(method))
          .map((method) => `${method.toUpperCase()} ${path}`),
      )
      .sort();

  it('lists exactly the endpoints of the OpenAPI document', () => {
    const listed = tableAfter(page, '## 6. Endpoints').map(([endpoint]) =>
      endpoint.replace(/`/g, ''),
    );
    expect(listed.length).toBeGreaterThanOrEqual(20);
    expect([...listed].sort()).toEqual(documented());
  });

  it('describes only endpoints that exist', () => {
    const headings = [...page.matchAll(/^### (GET|POST|PUT|PATCH|DELETE) (\/\S+)/gm)].map(
      ([, method, path]) => `${method} ${path}`,
    );
    expect(headings.length).toBeGreaterThanOrEqual(5);
    for (const heading of headings) expect(documented()).toContain(heading);
  });

  it("has the code's error catalogue, each code with its status", () => {
    const table = tableAfter(page, '## 5. Errors').map(([status, error]) => [
      error.replace(/`/g, ''),
      Number(status),
    ]);
    expect(Object.fromEntries(table)).toEqual(ERROR_STATUS);
    expect(table).toHaveLength(Object.keys(ERROR_STATUS).length);
  });

  it('names every error code an endpoint of the OpenAPI document answers', () => {
    const listed = new Set(tableAfter(page, '## 5. Errors').map(([, error]) => error));
    const answered = new Set(
      Object.values(doc.paths).flatMap((operations) =>
        Object.values(operations).flatMap((operation) =>
          Object.entries(operation.responses ?? {})
            .filter(([status]) => Number(status) >= 400)
            .flatMap(
              ([, response]) => (response.description ?? '').match(/\b[A-Z][A-Z_]+\b/g) ?? [],
            ),
        ),
      ),
    );
    expect(answered.size).toBeGreaterThanOrEqual(10);
    for (const code of answered) expect(listed).toContain(`\`${code}\``);
  });
});
