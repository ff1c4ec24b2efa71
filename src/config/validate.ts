/**
 * Validation against the schema (ajv, strict mode) with errors that name the field and say what was
 * expected and what was given: `streams[1].conf: expected a number >= 0 and <= 1, got 2`. The
 * "expected" part is read from the schema node that failed, so a new field gets good messages
 * without writing any.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';

export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** `"a", "b" or "c"` */
export function choices(list: readonly unknown[]): string {
  return list.map((a) => JSON.stringify(a)).join(', ').replace(/, ([^,]*)$/, ' or $1');
}

/** A value as an error message shows it (JSON, shortened). */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
}

type Node = Record<string, unknown>;

/** What a schema node accepts, in words: "an integer >= 0 and <= 65535", "true or false". */
export function describeSchema(s: Node): string {
  if (Array.isArray(s.enum)) return choices(s.enum);
  if ('const' in s) return JSON.stringify(s.const);
  if (Array.isArray(s.anyOf)) return (s.anyOf as Node[]).map(describeSchema).join(', or ');
  switch (s.type) {
    case 'number':
    case 'integer': {
      const range = [typeof s.minimum === 'number' ? `>= ${s.minimum}` : '', typeof s.maximum === 'number' ? `<= ${s.maximum}` : ''].filter(Boolean).join(' and ');
      return `${s.type === 'integer' ? 'an integer' : 'a number'}${range ? ' ' + range : ''}`;
    }
    case 'boolean':
      return 'true or false';
    case 'string':
      return s.pattern ? `a string matching /${s.pattern}/` : s.minLength === 1 ? 'a non-empty string' : 'a string';
    case 'array':
      return s.items ? `an array of ${plural(describeSchema(s.items as Node))}` : 'an array';
    case 'object':
      return 'an object';
    default:
      return 'a valid value';
  }
}

function plural(what: string): string {
  return what.replace(/^an? (\w+)/, (_, noun: string) => `${noun}s`).replace(/^true or false$/, 'true or false values');
}

// ---- locating an error: the schema nodes from the root to the failing one, with data paths ----

interface Step {
  node: Node;
  /** Data path of this node, e.g. `streams[1].conf`. */
  path: string;
  /** How this node was entered from its parent: a named field, a map key, an array item, a union branch. */
  via: 'root' | 'field' | 'key' | 'item' | 'branch';
}

function childPath(path: string, seg: string, via: 'field' | 'key' | 'item'): string {
  if (via === 'item') return `${path}[${seg}]`;
  if (via === 'key') return `${path}[${JSON.stringify(seg)}]`;
  return path ? `${path}.${seg}` : seg;
}

function decodePointer(p: string): string[] {
  return p === '' ? [] : p.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Walks the error's schemaPath (minus its keyword) through the schema, consuming instancePath segments. */
function locate(root: Node, prefix: string, e: ErrorObject): Step[] {
  const schemaSegs = e.schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean).map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'));
  const dataSegs = decodePointer(e.instancePath);
  const steps: Step[] = [{ node: root, path: prefix, via: 'root' }];
  let node = root;
  let path = prefix;
  let di = 0;
  for (let i = 0; i < schemaSegs.length - 1; i++) {
    const seg = schemaSegs[i];
    let via: Step['via'];
    if (seg === 'properties') {
      node = (node.properties as Record<string, Node>)[schemaSegs[++i]];
      via = 'field';
    } else if (seg === 'patternProperties') {
      node = (node.patternProperties as Record<string, Node>)[schemaSegs[++i]];
      via = 'key';
    } else if (seg === 'additionalProperties' && typeof node.additionalProperties === 'object') {
      node = node.additionalProperties as Node;
      via = 'key';
    } else if (seg === 'items') {
      node = node.items as Node;
      via = 'item';
    } else if (seg === 'anyOf' || seg === 'oneOf' || seg === 'allOf') {
      node = (node[seg] as Node[])[Number(schemaSegs[++i])];
      via = 'branch';
    } else {
      break;
    }
    if (via !== 'branch') path = childPath(path, dataSegs[di++], via);
    steps.push({ node, path, via });
  }
  return steps;
}

function valueAt(data: unknown, path: string[], depth: number): unknown {
  let v = data;
  for (let i = 0; i < depth && v !== undefined && v !== null; i++) v = (v as Record<string, unknown>)[path[i]];
  return v;
}

/** Keeps, for each failed union (anyOf), only the errors of the branch the value was meant for. */
function pruneUnions(errors: ErrorObject[]): ErrorObject[] {
  let out = errors;
  const unions = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const u of unions) {
    const base = u.schemaPath + '/';
    const inside = out.filter((e) => e.schemaPath.startsWith(base));
    const branch = (e: ErrorObject): string => e.schemaPath.slice(base.length).split('/')[0];
    // A branch whose own node rejected the value's type (or literal) was not meant; another was.
    const wrongType = new Set(inside.filter((e) => e.instancePath === u.instancePath && ['type', 'const', 'enum'].includes(e.keyword)).map(branch));
    const meant = [...new Set(inside.map(branch))].find((b) => !wrongType.has(b));
    out = out.filter((e) => !inside.includes(e) || (meant !== undefined && branch(e) === meant));
    if (meant !== undefined) out = out.filter((e) => e !== u);
  }
  return out;
}

function toIssues(root: Node, prefix: string, data: unknown, errors: ErrorObject[]): ConfigIssue[] {
  const issues = new Map<string, ConfigIssue>();
  const add = (path: string, message: string): void => {
    if (!issues.has(path)) issues.set(path, { path, message });
  };
  for (const e of pruneUnions(errors)) {
    const steps = locate(root, prefix, e);
    const at = steps[steps.length - 1];
    if (e.keyword === 'required') {
      add(childPath(at.path, (e.params as { missingProperty: string }).missingProperty, 'field'), 'required');
      continue;
    }
    if (e.keyword === 'additionalProperties') {
      const known = Object.keys((at.node.properties as Node | undefined) ?? {});
      add(childPath(at.path, (e.params as { additionalProperty: string }).additionalProperty, 'field'), `unknown field (known: ${known.join(', ')})`);
      continue;
    }
    // An `errorMessage` speaks for the node and the items inside it, not for named fields inside it.
    let owner = steps.length - 1;
    for (let i = steps.length - 1; i >= 0; i--) {
      if (typeof steps[i].node.errorMessage === 'string') {
        owner = i;
        break;
      }
      if (steps[i].via !== 'item' && steps[i].via !== 'branch') break;
    }
    const step = steps[owner];
    const depth = steps.slice(1, owner + 1).filter((s) => s.via !== 'branch').length;
    const value = valueAt(data, decodePointer(e.instancePath), depth);
    const expected = typeof step.node.errorMessage === 'string' ? step.node.errorMessage : `expected ${describeSchema(step.node)}`;
    add(step.path, `${expected}, got ${describeValue(value)}`);
  }
  return [...issues.values()];
}

const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: true });
// VS Code's annotation for a friendlier message; here the "expected ..." part of ours.
ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });

export interface SchemaCheck {
  /**
   * Validates `data` in place: fills in the schema's defaults, returns the issues (none = valid).
   * `prefix` is put before every path (`streams[2]`).
   */
  (data: unknown, prefix?: string): ConfigIssue[];
}

export function schemaCheck(schema: TSchema): SchemaCheck {
  const validate: ValidateFunction = ajv.compile(schema);
  const root = schema as unknown as Node;
  return (data, prefix = '') => (validate(data) ? [] : toIssues(root, prefix, data, validate.errors ?? []));
}
