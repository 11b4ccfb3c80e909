import { readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';

/** What a module of a flow asks for (FLOWS.md). */
export const FLOW_MODULES = ['phone', 'email', 'otp'] as const;
export type FlowModule = (typeof FLOW_MODULES)[number];

/** Built in for every realm: `otp` = phone → otp, `email-otp` = email → otp. */
export const BUILT_IN_FLOWS: Readonly<Record<string, readonly FlowModule[]>> = {
  otp: ['phone', 'otp'],
  'email-otp': ['email', 'otp'],
};

/** A flow's name in a path; `session` is the session's own path. */
const FLOW_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const REALM_NAME = /^[\x21-\x7e]{1,128}$/;
/** Pairs of (what to send to, its code): at most this many modules in one flow. */
const MAX_MODULES = 8;

/** A FLOWS_FILE that cannot be used: the service does not start with it. */
export class FlowsFileError extends Error {}

/**
 * The flows of each realm: the built-in ones, plus FLOWS_FILE's (which add or replace them). A
 * flow is pairs of a target module (`phone`, `email`: the code is sent there) and `otp` (its
 * code checked); the last `otp` signs in.
 */
@Injectable()
export class FlowDefinitions {
  private readonly byRealm: ReadonlyMap<string, ReadonlyMap<string, readonly FlowModule[]>>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.byRealm = config.flows.file ? readFlowsFile(config.flows.file) : new Map();
  }

  /** The modules of a realm's flow; undefined when it has none of that name. */
  find(realm: string, flow: string): readonly FlowModule[] | undefined {
    const own = this.byRealm.get(realm);
    if (own?.has(flow)) return own.get(flow);
    return Object.hasOwn(BUILT_IN_FLOWS, flow) ? BUILT_IN_FLOWS[flow] : undefined;
  }
}

/** Reads and checks FLOWS_FILE; FlowsFileError naming the first problem. */
export function readFlowsFile(path: string): Map<string, Map<string, readonly FlowModule[]>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FlowsFileError(`FLOWS_FILE ${path} cannot be read: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FlowsFileError(`FLOWS_FILE ${path} is not JSON`);
  }
  return parseFlows(parsed, `FLOWS_FILE ${path}`);
}

/** `{"<realm>":{"<flow>":["phone","otp"]}}`, checked. */
export function parseFlows(
  value: unknown,
  where = 'FLOWS_FILE',
): Map<string, Map<string, readonly FlowModule[]>> {
  const fail = (problem: string): never => {
    throw new FlowsFileError(`${where}: ${problem}`);
  };
  if (!isPlainObject(value)) fail('must be an object of realms');
  const realms = new Map<string, Map<string, readonly FlowModule[]>>();
  for (const [realm, flows] of Object.entries(value as Record<string, unknown>)) {
    if (!REALM_NAME.test(realm)) fail(`realm ${JSON.stringify(realm)} is no client id`);
    if (!isPlainObject(flows)) fail(`realm ${realm} must map flow names to module lists`);
    const own = new Map<string, readonly FlowModule[]>();
    for (const [name, modules] of Object.entries(flows as Record<string, unknown>)) {
      const label = `flow ${realm}/${name}`;
      if (!FLOW_NAME.test(name) || name === 'session') {
        fail(`${label}: a flow name is 1-64 letters, digits, - or _, and not "session"`);
      }
      own.set(
        name,
        checkModules(modules, (problem) => fail(`${label}: ${problem}`)),
      );
    }
    realms.set(realm, own);
  }
  return realms;
}

function checkModules(value: unknown, fail: (problem: string) => never): readonly FlowModule[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_MODULES) {
    fail(`must be a list of 2 to ${MAX_MODULES} modules`);
  }
  const modules = value as unknown[];
  for (const module of modules) {
    if (!(FLOW_MODULES as readonly unknown[]).includes(module)) {
      fail(`unknown module ${JSON.stringify(module)} (${FLOW_MODULES.join(', ')})`);
    }
  }
  if (modules.length % 2 !== 0) fail('each phone or email module must be followed by otp');
  for (let i = 0; i < modules.length; i += 2) {
    if (modules[i] === 'otp' || modules[i + 1] !== 'otp') {
      fail('each phone or email module must be followed by otp');
    }
  }
  return Object.freeze([...(modules as FlowModule[])]);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
