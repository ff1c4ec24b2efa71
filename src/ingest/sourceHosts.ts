/**
 * Which hosts a network source may reach (server.sourceHosts): lists of host names (`cam1.lan`,
 * `*.cams.example`), addresses and networks (`10.0.0.0/8`, `fd00::/8`). A name is judged both by
 * itself and by the addresses it resolves to, as ffmpeg resolves it (getaddrinfo): deny wins; with
 * an allow list, the name must be listed or every address it resolves to must be.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { isFileSource } from './sourceUrl.js';

export interface SourceHostRules {
  allow?: string[];
  deny?: string[];
}

/** Why `entry` is not a host name, address or network; undefined when it is one. */
export function hostEntryError(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const ip = entry.slice(0, slash);
    const bits = entry.slice(slash + 1);
    const family = isIP(ip);
    const max = family === 4 ? 32 : 128;
    if (!family || !/^\d{1,3}$/.test(bits) || Number(bits) > max) return `expected a network like 10.0.0.0/8 or fd00::/8, got "${entry}"`;
    return undefined;
  }
  if (isIP(entry)) return undefined;
  if (!/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(entry)) return `expected a host name (optionally *.domain), an address or a network, got "${entry}"`;
  return undefined;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d, also written ::ffff:7f00:1) as IPv4; others unchanged. */
function canonical(address: string): string {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted && isIP(dotted[1]) === 4) return dotted[1];
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (hex && isIP(a) === 6) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return a;
}

class HostList {
  private readonly names: string[] = [];
  private readonly nets = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const slash = e.indexOf('/');
      if (slash >= 0) {
        const ip = canonical(e.slice(0, slash));
        const family = isIP(ip);
        // A mapped network (::ffff:10.0.0.0/104) is its IPv4 network.
        const bits = Number(e.slice(slash + 1)) - (family === 4 && isIP(e.slice(0, slash)) === 6 ? 96 : 0);
        this.nets.addSubnet(ip, Math.max(0, bits), family === 4 ? 'ipv4' : 'ipv6');
      } else if (isIP(e)) {
        const ip = canonical(e);
        this.nets.addAddress(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6');
      } else {
        this.names.push(e.toLowerCase().replace(/\.$/, ''));
      }
    }
    this.empty = entries.length === 0;
  }

  hasName(host: string): boolean {
    return this.names.some((n) => (n.startsWith('*.') ? host.endsWith(n.slice(1)) : host === n));
  }

  hasAddress(address: string): boolean {
    const a = canonical(address);
    const family = isIP(a);
    return family !== 0 && this.nets.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}

export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** The host of a network source URL (lower case, no brackets); undefined for files and URLs without one. */
export function sourceHost(url: string): string | undefined {
  if (isFileSource(url)) return undefined;
  try {
    const host = new URL(url).hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    return host || undefined;
  } catch {
    return undefined;
  }
}

export class SourceHostPolicy {
  private readonly allow: HostList;
  private readonly deny: HostList;

  constructor(
    rules: SourceHostRules,
    private readonly resolve: Resolver = systemResolver,
  ) {
    this.allow = new HostList(rules.allow ?? []);
    this.deny = new HostList(rules.deny ?? []);
  }

  get active(): boolean {
    return !this.allow.empty || !this.deny.empty;
  }

  /** Why a source URL may not be opened; undefined when it may (files are judged by mediaFolders, not here). */
  async refusal(url: string): Promise<string | undefined> {
    if (!this.active) return undefined;
    const host = sourceHost(url);
    if (host === undefined) return isFileSource(url) ? undefined : 'the source URL names no host';
    let addresses: string[];
    if (isIP(host)) addresses = [host];
    else {
      try {
        addresses = await this.resolve(host);
      } catch {
        addresses = [];
      }
    }
    const shown = `host ${host}`;
    if (this.deny.hasName(host)) return `${shown} is denied by server.sourceHosts`;
    if (addresses.some((a) => this.deny.hasAddress(a))) return `${shown} is in a network denied by server.sourceHosts`;
    // A name that does not resolve now cannot be judged by its addresses, which could be any later.
    if (addresses.length === 0 && !this.allow.hasName(host)) return `${shown} does not resolve: it cannot be checked against server.sourceHosts`;
    if (this.allow.empty || this.allow.hasName(host)) return undefined;
    if (addresses.every((a) => this.allow.hasAddress(a))) return undefined;
    return `${shown} is not allowed by server.sourceHosts`;
  }
}
