// One probed layer of one model, read from its safetensors file by offset (nothing else of the file is read):
// a dense weight matrix stored [out, in] (d_V x d_H), or a LoRA pair whose layer is X = up . down, kept factored.
import { readSafetensorsFile, type SafetensorsFileReader } from '../../node/safetensors-file.ts';

export const LORA_SUFFIX = '.lora';
const DOWN = '.lora.down.weight';
const UP = '.lora.up.weight';

export type LayerMatrix =
  | { kind: 'dense'; rows: number; cols: number; data: Float32Array }
  /** X = up [rows, rank] . down [rank, cols]. */
  | { kind: 'lora'; rows: number; cols: number; rank: number; up: Float32Array; down: Float32Array };

export interface LayerInfo {
  /** A tensor name, or for a LoRA the pair's prefix ending in `.lora` (e.g. `layers.0.lora`). */
  name: string;
  kind: 'dense' | 'lora';
  /** [d_V, d_H] of the (product) matrix. */
  shape: [number, number];
}

/** Shapes a tensor to the matrix ProbeX sees, as the paper's code does: squeeze unit dims; a 1-D tensor becomes
 * [n, 1]; a k x k conv [out, in, k, k] becomes the raw memory reshape [in k k, out]. */
export function matrixShape(shape: readonly number[], where: string): [number, number] {
  const s = shape.filter((d) => d !== 1);
  if (s.length === 0) return [1, 1];
  if (s.length === 1) return [s[0], 1];
  if (s.length === 2) return [s[0], s[1]];
  const size = s.reduce((a, b) => a * b, 1);
  if (s.length === 4) return [size / s[0], s[0]];
  throw new Error(`${where}: cannot view a tensor of shape [${shape.join(', ')}] as a matrix`);
}

/** A classifier's head is new for every fine-tune (and its classes differ): ours are `head.*`, Hugging Face's
 * `classifier.*`. */
export const isHead = (name: string): boolean => name.startsWith('head.') || name.startsWith('classifier.');

/** The probeable layers of a file: every 2-D-viewable weight (biases, norms and heads excluded), and every LoRA pair. */
export function listLayers(f: SafetensorsFileReader): LayerInfo[] {
  const out: LayerInfo[] = [];
  for (const name of f.names()) {
    const shape = f.info(name).shape;
    if (name.endsWith(DOWN)) {
      const prefix = name.slice(0, -DOWN.length);
      const up = `${prefix}${UP}`;
      if (!f.names().includes(up)) throw new Error(`${f.path}: LoRA "${name}" has no matching "${up}"`);
      out.push({ name: `${prefix}${LORA_SUFFIX}`, kind: 'lora', shape: [f.info(up).shape[0], shape[1]] });
    } else if (!name.includes('.lora.') && name.endsWith('weight') && shape.length >= 2 && !isHead(name)) {
      out.push({ name, kind: 'dense', shape: matrixShape(shape, `${f.path}: ${name}`) });
    }
  }
  return out;
}

/** Reads one layer from an open file. `layer` is a tensor name or a LoRA prefix ending in `.lora`. */
export function readLayerFrom(f: SafetensorsFileReader, layer: string): LayerMatrix {
  if (layer.endsWith(LORA_SUFFIX)) {
    const prefix = layer.slice(0, -LORA_SUFFIX.length);
    const names = f.names();
    if (!names.includes(`${prefix}${DOWN}`)) throw new Error(`${f.path}: no LoRA layer "${layer}" (no tensor "${prefix}${DOWN}")`);
    const d = f.info(`${prefix}${DOWN}`).shape;
    const u = f.info(`${prefix}${UP}`).shape;
    if (d.length !== 2 || u.length !== 2 || u[1] !== d[0]) {
      throw new Error(`${f.path}: LoRA "${layer}" has up [${u.join(', ')}] and down [${d.join(', ')}], which do not compose`);
    }
    return { kind: 'lora', rows: u[0], cols: d[1], rank: d[0], up: f.readF32(`${prefix}${UP}`), down: f.readF32(`${prefix}${DOWN}`) };
  }
  const [rows, cols] = matrixShape(f.info(layer).shape, `${f.path}: ${layer}`);
  return { kind: 'dense', rows, cols, data: f.readF32(layer) };
}

export function readLayer(path: string, layer: string): LayerMatrix {
  const f = readSafetensorsFile(path);
  try {
    return readLayerFrom(f, layer);
  } finally {
    f.close();
  }
}

/** up . down of a LoRA layer, times `scale`, accumulated into `out` (float32 or float64, row-major [rows, cols]). */
export function loraProduct<T extends Float32Array | Float64Array>(m: Extract<LayerMatrix, { kind: 'lora' }>, out: T, scale = 1): T {
  for (let o = 0; o < m.rows; o++) {
    for (let k = 0; k < m.rank; k++) {
      const u = scale * m.up[o * m.rank + k];
      if (u === 0) continue;
      const row = k * m.cols;
      const at = o * m.cols;
      for (let i = 0; i < m.cols; i++) out[at + i] += u * m.down[row + i];
    }
  }
  return out;
}

/** X of a layer as one dense row-major matrix (forms up . down for a LoRA; meant for small layers and baselines). */
export function denseMatrix(m: LayerMatrix): Float32Array {
  return m.kind === 'dense' ? m.data : loraProduct(m, new Float32Array(m.rows * m.cols));
}
