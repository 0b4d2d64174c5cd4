// Reading a safetensors file from disk lazily: the header on open, then one tensor's bytes by offset on request, so
// a single layer of a large model is read without the rest. Errors name the file and the problem.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { headerLength, parseHeader, toFloat32, type SafeEntry } from '../core/io/safetensors.ts';

export interface SafetensorsFileReader {
  path: string;
  metadata: Record<string, string>;
  names(): string[];
  info(name: string): SafeEntry;
  /** The raw little-endian bytes of one tensor. */
  readBytes(name: string): Uint8Array;
  /** One tensor as float32 (from F32, F16 or BF16). */
  readF32(name: string): Float32Array;
  close(): void;
}

function readAt(fd: number, offset: number, length: number, path: string): Uint8Array {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) throw new Error(`${path}: unexpected end of file at byte ${offset + got}`);
    got += n;
  }
  return buf;
}

export function readSafetensorsFile(path: string): SafetensorsFileReader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`${path}: cannot open (${e instanceof Error ? e.message : e})`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new Error(`${path}: is a folder, not a safetensors file`);
    const size = stat.size;
    const first = readAt(fd, 0, Math.min(8, size), path);
    const len = headerLength(first, size, path);
    const header = parseHeader(readAt(fd, 8, len, path), size - 8 - len, path);
    const entry = (name: string): SafeEntry => {
      const e = header.entries.get(name);
      if (!e) throw new Error(`${path}: no tensor "${name}" (has ${[...header.entries.keys()].slice(0, 8).join(', ')}${header.entries.size > 8 ? ', ...' : ''})`);
      return e;
    };
    const readBytes = (name: string): Uint8Array => {
      const e = entry(name);
      return readAt(fd, header.dataStart + e.begin, e.end - e.begin, path);
    };
    return {
      path,
      metadata: header.metadata,
      names: () => [...header.entries.keys()],
      info: entry,
      readBytes,
      readF32: (name) => toFloat32(entry(name).dtype, readBytes(name), `${path}: tensor "${name}"`),
      close: () => closeSync(fd),
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
