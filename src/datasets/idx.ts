// Reading idx files (the MNIST family's format: magic, dims, raw bytes), plain or gzipped, with the problem and the
// file named on any malformed input.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface IdxArray {
  dims: number[];
  /** The raw unsigned bytes (idx type 0x08), row-major. */
  data: Uint8Array;
}

/** Parse idx bytes of unsigned-byte data (type 0x08), the only type MNIST-like sets use. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new Error(`${file}: too short for an idx header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new Error(`${file}: not an idx file (magic starts ${bytes[0]}, ${bytes[1]})`);
  if (bytes[2] !== 0x08) throw new Error(`${file}: idx data type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`);
  const rank = bytes[3];
  const headerBytes = 4 + 4 * rank;
  if (rank === 0 || bytes.length < headerBytes) throw new Error(`${file}: idx header of rank ${rank} is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - headerBytes !== count) {
    throw new Error(`${file}: dims [${dims.join(', ')}] need ${count} data bytes, the file has ${bytes.length - headerBytes}`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`${path}: gzip data is corrupt (${e instanceof Error ? e.message : e})`);
    }
  }
  return parseIdx(bytes, path);
}

/** idx bytes (unsigned-byte data) of an array with dimensions `dims`; parseIdx reads them back. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`idx: dims [${dims.join(', ')}] need ${count} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + count);
  out.set([0, 0, 0x08, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
