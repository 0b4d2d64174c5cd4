// The MoTHer distance between two model files: the mean absolute difference over every non-head float tensor they
// share (biases included), summed in float64 and read one tensor at a time; a LoRA pair counts as its product
// (alpha / rank) up . down, since a LoRA file holds only the adapters, not the weights they are added to.
import { readSafetensorsFile, type SafetensorsFileReader } from '../../node/safetensors-file.ts';
import type { SafeDType } from '../../core/io/safetensors.ts';
import { LORA_SUFFIX, isHead, loraProduct, readLayerFrom } from '../data/layers.ts';

const DOWN = '.lora.down.weight';
const UP = '.lora.up.weight';
const FLOAT: ReadonlySet<SafeDType> = new Set<SafeDType>(['F32', 'F16', 'BF16', 'F64']);

export type Vec = Float32Array | Float64Array;


export interface Comparable {
  /** A tensor name, or `<prefix>.lora` for a LoRA pair (compared as its product). */
  name: string;
  size: number;
  read(): Vec;
}

export function readFloat(f: SafetensorsFileReader, name: string): Vec {
  const e = f.info(name);
  if (e.dtype !== 'F64') return f.readF32(name);
  const bytes = f.readBytes(name);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
}

/** dW = (alpha / rank) up . down in float64; alpha from the file's metadata (PEFT's convention), else scale 1. */
export function loraDelta(f: SafetensorsFileReader, prefix: string): Float64Array {
  const m = readLayerFrom(f, `${prefix}${LORA_SUFFIX}`);
  if (m.kind !== 'lora') throw new Error(`${f.path}: "${prefix}" is not a LoRA pair`);
  const alpha = Number(f.metadata.alpha);
  const scale = f.metadata.alpha !== undefined && Number.isFinite(alpha) ? alpha / m.rank : 1;
  return loraProduct(m, new Float64Array(m.rows * m.cols), scale);
}

/** The float tensors of a file a distance is taken over, in name order: `head.*` excluded, integer tensors skipped
 * (buffers such as position ids), each LoRA pair as one product. */
export function comparables(f: SafetensorsFileReader): Comparable[] {
  const names = f.names();
  const has = new Set(names);
  const out: Comparable[] = [];
  for (const name of [...names].sort()) {
    if (isHead(name)) continue;
    if (name.endsWith(DOWN) || name.endsWith(UP)) {
      const prefix = name.slice(0, -(name.endsWith(DOWN) ? DOWN : UP).length);
      const down = `${prefix}${DOWN}`;
      const up = `${prefix}${UP}`;
      if (!has.has(down) || !has.has(up)) throw new Error(`${f.path}: LoRA tensor "${name}" has no matching "${has.has(down) ? up : down}"`);
      if (name === up) continue; // handled with its down
      const size = f.info(up).shape[0] * f.info(down).shape[1];
      out.push({ name: `${prefix}${LORA_SUFFIX}`, size, read: () => loraDelta(f, prefix) });
    } else if (FLOAT.has(f.info(name).dtype)) {
      out.push({ name, size: f.info(name).shape.reduce((a, b) => a * b, 1), read: () => readFloat(f, name) });
    }
  }
  return out;
}

export function absDiffSum(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s;
}

/** The MoTHer distance between two model files: mean |a - b| over the non-head float tensors they share (same name
 * and size; LoRA pairs as their products). Reads one tensor of each at a time. */
export function motherDistance(a: string, b: string): number {
  const fa = readSafetensorsFile(a);
  try {
    const fb = readSafetensorsFile(b);
    try {
      const cb = new Map(comparables(fb).map((c) => [c.name, c]));
      let sum = 0;
      let count = 0;
      for (const ca of comparables(fa)) {
        const other = cb.get(ca.name);
        if (!other || other.size !== ca.size) continue;
        sum += absDiffSum(ca.read(), other.read());
        count += ca.size;
      }
      if (count === 0) throw new Error(`${a} and ${b} share no non-head float tensor of the same name and size: no weight distance`);
      return sum / count;
    } finally {
      fb.close();
    }
  } finally {
    fa.close();
  }
}

