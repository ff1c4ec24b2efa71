/**
 * A reader for the Python literals Ultralytics writes into ONNX metadata_props with `str(value)`:
 * dicts, lists, tuples, strings (either quote, backslash escapes), ints, floats, True/False/None.
 * Pure; throws with the offending offset on anything else.
 */

export type PyValue = string | number | boolean | null | PyValue[] | PyDict;
/** Python dicts keep their key type (Ultralytics `names` uses int keys); keys are stored as strings. */
export interface PyDict {
  [key: string]: PyValue;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

export function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`python literal: ${what} at offset ${pos} in ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + '...' : text)}`);
  };
  const ws = (): void => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const str = (): string => {
    const quote = text[pos++];
    let out = '';
    while (pos < text.length && text[pos] !== quote) {
      const c = text[pos++];
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[pos++];
      if (e === 'x' || e === 'u') {
        const n = e === 'x' ? 2 : 4;
        const hex = text.slice(pos, pos + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail('bad escape');
        out += String.fromCharCode(parseInt(hex, 16));
        pos += n;
      } else if (e !== undefined && e in ESCAPES) out += ESCAPES[e];
      else fail('unknown escape');
    }
    if (pos >= text.length) fail('unterminated string');
    pos++;
    return out;
  };
  const seq = (close: string): PyValue[] => {
    pos++;
    const items: PyValue[] = [];
    for (;;) {
      ws();
      if (text[pos] === close) {
        pos++;
        return items;
      }
      items.push(value());
      ws();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
  };
  const dict = (): PyDict => {
    pos++;
    const out: PyDict = {};
    for (;;) {
      ws();
      if (text[pos] === '}') {
        pos++;
        return out;
      }
      const key = value();
      if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') fail('unhashable dict key');
      ws();
      if (text[pos++] !== ':') fail("expected ':'");
      out[String(key)] = value();
      ws();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== '}') fail("expected ',' or '}'");
    }
  };
  const value = (): PyValue => {
    ws();
    const c = text[pos];
    if (c === "'" || c === '"') return str();
    if (c === '{') return dict();
    if (c === '[') return seq(']');
    if (c === '(') return seq(')');
    const word = /^(True|False|None)\b/.exec(text.slice(pos, pos + 6));
    if (word) {
      pos += word[1].length;
      return word[1] === 'None' ? null : word[1] === 'True';
    }
    const num = /^[-+]?(\d+\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?|inf|nan)/i.exec(text.slice(pos));
    if (num) {
      pos += num[0].length;
      return Number(num[0].replace(/inf/i, 'Infinity').replace(/nan/i, 'NaN'));
    }
    return fail('unexpected character');
  };
  const v = value();
  ws();
  if (pos !== text.length) fail('trailing characters');
  return v;
}
