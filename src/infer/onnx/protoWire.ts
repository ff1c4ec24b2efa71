/**
 * Protocol Buffers wire format, just enough to read and write ONNX files.
 * onnxruntime-node does not expose model metadata, and no schema compiler is needed for the
 * handful of ONNX messages we touch, so a small reader and writer beat a dependency.
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export interface ProtoField {
  field: number;
  wire: number;
  /** Varint / fixed values (as number; ONNX dims and enums fit in 2^53). */
  value: number;
  /** Payload for length-delimited fields. */
  bytes: Uint8Array;
}

/** Iterates the fields of one message. Throws on malformed input with the byte offset. */
export function* readFields(buf: Uint8Array, start = 0, end = buf.length): Generator<ProtoField> {
  let pos = start;
  const empty = new Uint8Array(0);
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new Error(`protobuf: truncated varint at byte ${pos}`);
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new Error(`protobuf: varint too long at byte ${pos}`);
  };
  while (pos < end) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) throw new Error(`protobuf: field number 0 at byte ${pos}`);
    switch (wire) {
      case WIRE_VARINT:
        yield { field, wire, value: varint(), bytes: empty };
        break;
      case WIRE_I64: {
        if (pos + 8 > end) throw new Error(`protobuf: truncated fixed64 at byte ${pos}`);
        const dv = new DataView(buf.buffer, buf.byteOffset + pos, 8);
        pos += 8;
        yield { field, wire, value: Number(dv.getBigInt64(0, true)), bytes: empty };
        break;
      }
      case WIRE_LEN: {
        const len = varint();
        if (pos + len > end) throw new Error(`protobuf: field ${field} overruns message at byte ${pos}`);
        const bytes = buf.subarray(pos, pos + len);
        pos += len;
        yield { field, wire, value: len, bytes };
        break;
      }
      case WIRE_I32: {
        if (pos + 4 > end) throw new Error(`protobuf: truncated fixed32 at byte ${pos}`);
        const dv = new DataView(buf.buffer, buf.byteOffset + pos, 4);
        pos += 4;
        yield { field, wire, value: dv.getInt32(0, true), bytes: empty };
        break;
      }
      default:
        throw new Error(`protobuf: unsupported wire type ${wire} at byte ${pos}`);
    }
  }
}

/** Signed value of a varint that encodes a (two's complement) int64. */
export function toSigned64(v: number): number {
  return v >= 2 ** 63 ? v - 2 ** 64 : v;
}

const utf8 = new TextDecoder();
export function decodeString(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** Growable byte writer. Nested messages are written to their own writer and embedded. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private rawVarint(v: number): void {
    if (v < 0) {
      // int64 negative: 10-byte two's complement
      let big = BigInt.asUintN(64, BigInt(v));
      this.ensure(10);
      while (big >= 0x80n) {
        this.buf[this.len++] = Number(big & 0x7fn) | 0x80;
        big >>= 7n;
      }
      this.buf[this.len++] = Number(big);
      return;
    }
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  varint(field: number, v: number): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, WIRE_I32);
    this.ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.len, v, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, w: ProtoWriter): this {
    return this.bytes(field, w.finish());
  }

  /** Packed repeated varints (e.g. int64 dims). */
  packedVarints(field: number, values: ArrayLike<number>): this {
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.rawVarint(values[i]);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
