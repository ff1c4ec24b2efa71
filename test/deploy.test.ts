/**
 * deploy/ cannot be run here (no Docker engine, no Kubernetes): parse it with a YAML library and
 * check that it describes what docs/cluster.md says, with commands and options the CLI has.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig, parseConfig } from '../src/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const deploy = join(root, 'deploy');
const cli = join(root, 'dist/src/cli/main.js');

type Doc = Record<string, any>;

function helpOf(command: string): string {
  return execFileSync(process.execPath, [cli, command, '--help'], { encoding: 'utf8' });
}

/** Every `--option` in a streamlens command line is one its --help lists. */
function expectKnownOptions(args: string[]): void {
  const [command] = args;
  const help = helpOf(command);
  for (const a of args.filter((x) => x.startsWith('--'))) expect({ command, option: a, known: help.includes(a.split('=')[0]) }).toEqual({ command, option: a, known: true });
}

function k8s(): Doc[] {
  const dir = join(deploy, 'kubernetes');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => {
        expect(d.errors, f).toEqual([]);
        return d.toJS() as Doc;
      }),
    );
}

describe('deploy/docker-compose.yml', () => {
  const compose = parse(readFileSync(join(deploy, 'docker-compose.yml'), 'utf8'), { merge: true }) as Doc;

  it('runs Redis, three nodes and workers, with commands the CLI has', () => {
    const services = compose.services as Record<string, Doc>;
    expect(services.redis.image).toMatch(/^redis:/);
    const nodes = Object.entries(services).filter(([, s]) => s.command?.[0] === 'serve');
    expect(nodes).toHaveLength(3);
    const ids = nodes.map(([, s]) => s.command[s.command.indexOf('--node-id') + 1]);
    expect(new Set(ids).size).toBe(3);
    for (const [, s] of nodes) {
      expect(s.command).toContain('--cluster');
      expect(s.command[s.command.indexOf('--cluster') + 1]).toBe('redis://redis:6379');
      expect(s.depends_on).toContain('redis');
      expectKnownOptions(s.command);
    }
    const workers = Object.values(services).filter((s) => s.command?.[0] === 'worker');
    expect(workers.length).toBeGreaterThan(0);
    for (const w of workers) expectKnownOptions(w.command);
    expect(workers.reduce((n, w) => n + (w.deploy?.replicas ?? 1), 0)).toBeGreaterThanOrEqual(2);
  });

  it('mounts a node config that loads', () => {
    const node = compose.services.node1 as Doc;
    expect(node.volumes).toContain('./config:/config:ro');
    const config = loadConfig(join(deploy, 'config', 'node.json'));
    expect(config.cluster?.redis).toBe('redis://redis:6379');
  });
});

describe('deploy/kubernetes', () => {
  const docs = k8s();
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const deployment = (name: string) => byKind('Deployment').find((d) => d.metadata.name === name)!;

  it('has Redis, a node Deployment with readiness on /healthz, a worker Deployment and a Service', () => {
    const redis = deployment('streamlens-redis');
    expect(redis.spec.template.spec.containers[0].image).toMatch(/^redis:/);
    const nodes = deployment('streamlens-node');
    const node = nodes.spec.template.spec.containers[0];
    expect(node.readinessProbe.httpGet.path).toBe('/healthz');
    expect(node.readinessProbe.httpGet.port).toBe(node.ports[0].name);
    expect(node.args[0]).toBe('serve');
    expectKnownOptions(node.args);
    const worker = deployment('streamlens-worker').spec.template.spec.containers[0];
    expect(worker.args[0]).toBe('worker');
    expectKnownOptions(worker.args);
    const service = byKind('Service').find((s) => s.metadata.name === 'streamlens')!;
    expect(service.spec.selector).toEqual(nodes.spec.selector.matchLabels);
  });

  it('every selector matches its pod labels, every Redis URL names the Redis Service, every claim and config map exists', () => {
    for (const d of byKind('Deployment')) expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    const redisService = byKind('Service').find((s) => s.spec.selector['app.kubernetes.io/name'] === 'streamlens-redis')!;
    const text = JSON.stringify(docs);
    for (const url of text.match(/redis:\/\/[^"\s\\]+/g)!) expect(url).toBe(`redis://${redisService.metadata.name}:${redisService.spec.ports[0].port}`);
    const claims = new Set(byKind('PersistentVolumeClaim').map((c) => c.metadata.name));
    const maps = new Set(byKind('ConfigMap').map((c) => c.metadata.name));
    for (const m of byKind('ConfigMap')) expect(parseConfig(JSON.parse(m.data['node.json']), '/config').cluster?.redis).toBe(`redis://${redisService.metadata.name}:6379`);
    for (const d of byKind('Deployment')) {
      for (const v of d.spec.template.spec.volumes ?? []) {
        if (v.persistentVolumeClaim) expect(claims).toContain(v.persistentVolumeClaim.claimName);
        if (v.configMap) expect(maps).toContain(v.configMap.name);
      }
    }
  });
});
