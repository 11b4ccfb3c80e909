import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@app/config';
import { FlowDefinitions, FlowsFileError, parseFlows } from './flow-definitions';

describe('FlowDefinitions', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'flows-file-'));
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  function withFile(text: string): FlowDefinitions {
    const file = join(scratch, `${Math.random()}.json`);
    writeFileSync(file, text);
    return new FlowDefinitions(loadConfig({ FLOWS_FILE: file }));
  }

  it('has the built-in flows in every realm, and nothing else, without FLOWS_FILE', () => {
    const flows = new FlowDefinitions(loadConfig({}));
    expect(flows.find('default', 'otp')).toEqual(['phone', 'otp']);
    expect(flows.find('any-client', 'email-otp')).toEqual(['email', 'otp']);
    expect(flows.find('default', 'nope')).toBeUndefined();
    expect(flows.find('default', '__proto__')).toBeUndefined();
    expect(flows.find('default', 'toString')).toBeUndefined();
  });

  it("adds and replaces a realm's flows from FLOWS_FILE", () => {
    const flows = withFile(
      JSON.stringify({
        default: { otp: ['email', 'otp'], both: ['phone', 'otp', 'email', 'otp'] },
      }),
    );
    expect(flows.find('default', 'otp')).toEqual(['email', 'otp']);
    expect(flows.find('default', 'both')).toEqual(['phone', 'otp', 'email', 'otp']);
    expect(flows.find('other', 'otp')).toEqual(['phone', 'otp']);
    expect(flows.find('other', 'both')).toBeUndefined();
  });

  it.each([
    ['not json', /is not JSON/],
    ['[]', /must be an object of realms/],
    ['{"default":[]}', /must map flow names/],
    ['{"default":{"x":["phone"]}}', /followed by otp/],
    ['{"default":{"x":["otp","phone"]}}', /followed by otp/],
    ['{"default":{"x":["phone","phone"]}}', /followed by otp/],
    ['{"default":{"x":["sms","otp"]}}', /unknown module "sms"/],
    ['{"default":{"x":[]}}', /list of 2 to 8 modules/],
    ['{"default":{"x":"phone,otp"}}', /list of 2 to 8 modules/],
    [`{"default":{"x":${JSON.stringify(Array(10).fill(['phone', 'otp']).flat())}}}`, /2 to 8/],
    ['{"default":{"session":["phone","otp"]}}', /not "session"/],
    ['{"default":{"a/b":["phone","otp"]}}', /a flow name is/],
    ['{"a b":{"x":["phone","otp"]}}', /no client id/],
  ])('refuses %s', (text, problem) => {
    expect(() => withFile(text)).toThrow(FlowsFileError);
    expect(() => withFile(text)).toThrow(problem);
  });

  it('refuses a file it cannot read', () => {
    expect(() => new FlowDefinitions(loadConfig({ FLOWS_FILE: join(scratch, 'missing') }))).toThrow(
      /cannot be read/,
    );
  });

  it('parses what it is given, frozen', () => {
    const flows = parseFlows({ r: { f: ['phone', 'otp'] } });
    expect(Object.isFrozen(flows.get('r')?.get('f'))).toBe(true);
  });
});
