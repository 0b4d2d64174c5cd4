// The safetensors format, read and written from bytes: an 8-byte little-endian header length, a JSON header of
// {name: {dtype, shape, data_offsets}} plus optional string `__metadata__`, then the raw little-endian data.
// Reading validates everything a corrupt or hostile file could get wrong before trusting an offset.

export type SafeDType = 'F32' | 'I32' | 'U32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'U8' | 'I8' | 'I16' | 'U16' | 'BOOL';

const BYTES: Record<SafeDType, number> = { F64: 8, I64: 8, F32: 4, I32: 4, U32: 4, F16: 2, BF16: 2, I16: 2, U16: 2, U8: 1, I8: 1, BOOL: 1 };
const MAX_HEADER = 100_000_000;

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  /** The raw little-endian bytes (a view into the file). */
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

export function encodeSafetensors(
  tensors: Iterable<[string, { dtype: SafeDType; shape: readonly number[]; data: ArrayBufferView }]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  // No prototype: a tensor named "__proto__" must become a key, not replace the prototype (and vanish from the JSON).
  const header: Record<string, unknown> = Object.create(null);
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`safetensors: metadata "${k}" must be a string`);
    header.__metadata__ = metadata;
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__' || Object.hasOwn(header, name)) throw new Error(`safetensors: duplicate or reserved tensor name "${name}"`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.byteLength !== n * BYTES[t.dtype]) {
      throw new Error(`safetensors: "${name}" has ${t.data.byteLength} bytes, shape [${t.shape}] of ${t.dtype} needs ${n * BYTES[t.dtype]}`);
    }
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    parts.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the format).
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface SafeEntry {
  dtype: SafeDType;
  shape: number[];
  /** Byte range within the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, SafeEntry>;
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file: 8 + header length. */
  dataStart: number;
}

export const bytesPerElement = (dtype: SafeDType): number => BYTES[dtype];

/** Read and validate the 8-byte length word; `fileLength` bounds it. `where` names the file in errors. */
export function headerLength(first8: Uint8Array, fileLength: number, where = 'safetensors'): number {
  if (fileLength < 8 || first8.byteLength < 8) throw new Error(`${where}: file of ${fileLength} bytes is too short for a header`);
  const len = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (len > BigInt(Math.min(MAX_HEADER, fileLength - 8))) {
    // A text file (JSON, a log) read as safetensors gives an absurd length: say what the bytes look like.
    const text = [...first8.subarray(0, 8)].every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
    const hint = text ? `; it starts with text ("${String.fromCharCode(...first8.subarray(0, 8)).replace(/\s+/g, ' ')}"), not a safetensors length word` : '';
    throw new Error(`${where}: header length ${len} exceeds the file (${fileLength} bytes)${hint}`);
  }
  return Number(len);
}

/** The first key that appears twice at the top level of a JSON object's text (JSON.parse would keep the last
 * silently, so two tensors of one name would read as one), or null. Assumes text that JSON.parse accepted. */
function repeatedTopLevelKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      let k = j + 1;
      while (k < text.length && ' \t\n\r'.includes(text[k])) k++;
      if (depth === 1 && text[k] === ':') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
      }
      i = j;
    }
  }
  return null;
}

/** Validate a header's JSON bytes against the size of the data section that follows it. */
export function parseHeader(head: Uint8Array, dataLen: number, where = 'safetensors'): SafetensorsHeader {
  let header: Record<string, unknown>;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head);
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: header is not valid UTF-8 JSON (${e instanceof Error ? e.message : e})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new Error(`${where}: header is not a JSON object`);
  const twice = repeatedTopLevelKey(text);
  if (twice !== null) throw new Error(`${where}: the header names "${twice}" twice`);
  const entries = new Map<string, SafeEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!entry || typeof entry !== 'object' || Array.isArray(entry) || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw new Error(`${where}: __metadata__ must map strings to strings`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${where}: "${name}" is not a {dtype, shape, data_offsets} entry`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    // Own keys only: "toString" or "__proto__" are not dtypes.
    if (typeof e.dtype !== 'string' || !Object.hasOwn(BYTES, e.dtype)) throw new Error(`${where}: "${name}" has unknown dtype ${String(e.dtype)}`);
    const dtype = e.dtype as SafeDType;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${where}: "${name}" has an invalid shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1] || off[1] > dataLen) {
      throw new Error(`${where}: "${name}" has data_offsets ${JSON.stringify(off)} outside the ${dataLen} data bytes`);
    }
    const shape = e.shape as number[];
    const need = shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (off[1] - off[0] !== need) throw new Error(`${where}: "${name}" holds ${off[1] - off[0]} bytes, shape [${shape}] of ${dtype} needs ${need}`);
    entries.set(name, { dtype, shape, begin: off[0], end: off[1] });
  }
  const spans = [...entries].sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][1].begin < spans[i - 1][1].end) throw new Error(`${where}: tensors "${spans[i - 1][0]}" and "${spans[i][0]}" overlap`);
  }
  return { entries, metadata, dataStart: 8 + head.byteLength };
}

export function decodeSafetensors(file: Uint8Array, where = 'safetensors'): SafetensorsFile {
  const headLen = headerLength(file, file.byteLength, where);
  const { entries, metadata, dataStart } = parseHeader(file.subarray(8, 8 + headLen), file.byteLength - 8 - headLen, where);
  const tensors = new Map<string, SafeTensor>();
  for (const [name, e] of entries) {
    tensors.set(name, { dtype: e.dtype, shape: e.shape, bytes: file.subarray(dataStart + e.begin, dataStart + e.end) });
  }
  return { tensors, metadata };
}

/** Little-endian F32, F16 or BF16 bytes as float32 values. */
export function toFloat32(dtype: SafeDType, bytes: Uint8Array, where = 'safetensors'): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') {
    const out = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  if (dtype === 'BF16') {
    const out = new Float32Array(bytes.byteLength / 2);
    const word = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < out.length; i++) {
      word.setUint32(0, view.getUint16(2 * i, true) << 16);
      out[i] = word.getFloat32(0);
    }
    return out;
  }
  if (dtype === 'F16') {
    const out = new Float32Array(bytes.byteLength / 2);
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
    return out;
  }
  throw new Error(`${where}: cannot convert ${dtype} to float32 (F32, F16 and BF16 can be read as floats)`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
