/**
 * What a source URL is, decided in one place (config, probe, decoder, runner and the CLI ask here),
 * and how it is shown in logs, errors and the API without its secrets.
 */

/**
 * `rtsp` (rtsp:, rtsps:), `http` (http:, https:), `file` (a path, or a file: URL) or `other` (any
 * other scheme: udp://, concat:, data: ...; the config refuses those). A scheme is two or more
 * characters before a colon, so `C:\clips\a.mp4` is a path; a relative file whose name has a colon
 * (`a:b.mp4`) must be written `./a:b.mp4`.
 */
export type SourceKind = 'rtsp' | 'http' | 'file' | 'other';

export function urlScheme(url: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  return scheme && scheme.length > 1 ? scheme.toLowerCase() : undefined;
}

export function sourceKind(url: string): SourceKind {
  switch (urlScheme(url)) {
    case undefined:
    case 'file':
      return 'file';
    case 'rtsp':
    case 'rtsps':
      return 'rtsp';
    case 'http':
    case 'https':
      return 'http';
    default:
      return 'other';
  }
}

/** Files are finite and seekable; everything else is read as a live source. */
export function isFileSource(url: string): boolean {
  return sourceKind(url) === 'file';
}

/** Query parameters that carry credentials in camera and streaming URLs (`?user=admin&password=...`, `?token=...`). */
const SECRET_PARAM = /^(?:pass(?:word)?|pwd|passwd|token|access_token|auth|authorization|key|api_?key|secret|signature|sig)$/i;

/**
 * Hides credentials in a URL or in text that quotes URLs (ffmpeg's messages), for logs, errors and
 * the API: the password of `scheme://user:password@host` (which may itself contain `@` or `:`) and
 * the values of query parameters named like secrets. The rest of the text is left exactly as it was.
 */
export function redactUrl(text: string): string {
  // The authority ends at the first `/`, `?`, `#` or space after `//`; its userinfo ends at its last `@`.
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi, (_, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  }).replace(/([?&;])([^=&;#\s]+)=([^&;#\s]*)/g, (whole: string, sep: string, name: string, value: string) =>
    SECRET_PARAM.test(safeDecode(name)) && value !== '' ? `${sep}${name}=***` : whole,
  );
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
