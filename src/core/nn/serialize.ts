// Saving and loading a module's parameters as safetensors bytes (file I/O is the caller's: Node or browser).
import { Tensor } from '../tensor.ts';
import { engine } from '../engine.ts';
import { encodeSafetensors, decodeSafetensors, type SafeDType } from '../io/safetensors.ts';
import { fmt } from '../shape.ts';
import type { Module } from './module.ts';

const TO_SAFE = { f32: 'F32', i32: 'I32', u32: 'U32' } as const;

/** Serialize named tensors (reads them back from the GPU). */
export async function tensorsToSafetensors(named: [string, Tensor][], metadata?: Record<string, string>): Promise<Uint8Array> {
  const entries: [string, { dtype: SafeDType; shape: number[]; data: ArrayBufferView }][] = [];
  for (const [name, t] of named) entries.push([name, { dtype: TO_SAFE[t.dtype], shape: [...t.shape], data: await t.data() }]);
  return encodeSafetensors(entries, metadata);
}

export function saveModule(module: Module, metadata?: Record<string, string>): Promise<Uint8Array> {
  return tensorsToSafetensors(module.namedParameters(), metadata);
}

/**
 * Load parameters saved by saveModule into `module`. Every parameter must be present with the same shape and dtype;
 * nothing is written unless all of them match.
 */
export function loadModule(module: Module, bytes: Uint8Array): Record<string, string> {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const params = module.namedParameters();
  const names = new Set(params.map(([n]) => n));
  const extra = [...tensors.keys()].filter((k) => !names.has(k));
  if (extra.length) throw new Error(`loadModule: file has tensors the module lacks: ${extra.join(', ')}`);
  for (const [name, p] of params) {
    const t = tensors.get(name);
    if (!t) throw new Error(`loadModule: file lacks parameter "${name}"`);
    if (t.dtype !== TO_SAFE[p.dtype] || t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`loadModule: "${name}" is ${t.dtype} [${t.shape}] in the file, the module needs ${TO_SAFE[p.dtype]} ${fmt(p.shape)}`);
    }
  }
  for (const [name, p] of params) {
    const t = tensors.get(name)!;
    // Copy to an aligned buffer: the file view may start at any byte offset.
    engine().upload(p.buffer, new Uint8Array(t.bytes));
  }
  return metadata;
}
