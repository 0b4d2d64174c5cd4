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
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`safetensors: metadata "${k}" must be a string`);
    header.__metadata__ = metadata;
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__' || name in header) throw new Error(`safetensors: duplicate or reserved tensor name "${name}"`);
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

export function decodeSafetensors(file: Uint8Array): SafetensorsFile {
  if (file.byteLength < 8) throw new Error(`safetensors: file of ${file.byteLength} bytes is too short for a header`);
  const len = new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true);
  if (len > BigInt(Math.min(MAX_HEADER, file.byteLength - 8))) {
    throw new Error(`safetensors: header length ${len} exceeds the file (${file.byteLength} bytes)`);
  }
  const headLen = Number(len);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + headLen)));
  } catch (e) {
    throw new Error(`safetensors: header is not valid UTF-8 JSON (${e instanceof Error ? e.message : e})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new Error('safetensors: header is not a JSON object');
  const dataStart = 8 + headLen;
  const dataLen = file.byteLength - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!entry || typeof entry !== 'object' || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw new Error('safetensors: __metadata__ must map strings to strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in BYTES)) throw new Error(`safetensors: "${name}" has unknown dtype ${String(e.dtype)}`);
    const dtype = e.dtype as SafeDType;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`safetensors: "${name}" has an invalid shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1] || off[1] > dataLen) {
      throw new Error(`safetensors: "${name}" has data_offsets ${JSON.stringify(off)} outside the ${dataLen} data bytes`);
    }
    const shape = e.shape as number[];
    const need = shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (off[1] - off[0] !== need) throw new Error(`safetensors: "${name}" holds ${off[1] - off[0]} bytes, shape [${shape}] of ${dtype} needs ${need}`);
    spans.push([off[0], off[1], name]);
    tensors.set(name, { dtype, shape, bytes: file.subarray(dataStart + off[0], dataStart + off[1]) });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) throw new Error(`safetensors: tensors "${spans[i - 1][2]}" and "${spans[i][2]}" overlap`);
  }
  return { tensors, metadata };
}
