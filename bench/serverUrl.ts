/** URLs under a server's base URL (http://host:port, possibly with a path prefix behind a proxy). */

/** `path` (no leading slash) under the base URL. */
export function serverUrl(base: string, path: string): string {
  return new URL(path, base.endsWith('/') ? base : base + '/').href;
}

/** The server's WebSocket endpoint: ws(s)://host:port[/prefix]/ws. */
export function wsUrl(base: string): string {
  return serverUrl(base, 'ws').replace(/^http/, 'ws');
}
