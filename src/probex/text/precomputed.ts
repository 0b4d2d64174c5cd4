// Precomputed class embeddings in one safetensors file (tensor `embeddings` [n, dim]; metadata `classes`,
// `prompt_template`, `encoder`), and a TextEncoder that answers from it, e.g. for CLIP text embeddings made elsewhere.
import { readFileSync } from 'node:fs';
import { decodeSafetensors, encodeSafetensors, toFloat32 } from '../../core/io/safetensors.ts';
import { writeFileAtomic } from '../../node/files.ts';
import { CLASS_PLACEHOLDER, embeddingRow, fillPrompt, type TextEncoder } from './encoder.ts';

/*
 * The file format, so that embeddings can be made with any tool. In Python, for example:
 *
 *   from safetensors.torch import save_file
 *   save_file({"embeddings": emb.float().contiguous()},            # [len(classes), dim], row i = classes[i]
 *             "clip.safetensors",
 *             metadata={"classes": json.dumps(classes),          # JSON list of the class names
 *                       "prompt_template": "a drawing of a {class}",  # what was embedded for each class
 *                       "encoder": "clip-vit-b32"})               # names the embedding space
 *
 * `embeddings` may be F32, F16 or BF16 (read as float32); this module writes F32.
 */

export const EMBEDDINGS_TENSOR = 'embeddings';

/** One embedding per class, for the prompt `promptTemplate` made of that class. */
export interface ClassEmbeddings {
  /** The encoder that made them, e.g. "use-lite". */
  encoder: string;
  /** Contains `{class}`, e.g. "a drawing of a {class}". */
  promptTemplate: string;
  classes: string[];
  dim: number;
  /** Row-major [classes.length, dim]; row i belongs to classes[i]. */
  data: Float32Array;
}

function validate(e: ClassEmbeddings, where: string): void {
  if (typeof e.encoder !== 'string' || e.encoder.length === 0) throw new Error(`${where}: the encoder name must be a non-empty string`);
  if (typeof e.promptTemplate !== 'string' || !e.promptTemplate.includes(CLASS_PLACEHOLDER)) {
    throw new Error(`${where}: prompt template ${JSON.stringify(e.promptTemplate)} has no ${CLASS_PLACEHOLDER} placeholder`);
  }
  if (!Array.isArray(e.classes) || e.classes.length === 0) throw new Error(`${where}: no classes`);
  const seen = new Set<string>();
  for (const [i, c] of e.classes.entries()) {
    if (typeof c !== 'string' || c.length === 0) throw new Error(`${where}: class ${i} is ${JSON.stringify(c)}, not a non-empty string`);
    if (seen.has(c)) throw new Error(`${where}: class "${c}" appears twice`);
    seen.add(c);
  }
  if (!Number.isInteger(e.dim) || e.dim <= 0) throw new Error(`${where}: embedding size ${e.dim} is not a positive integer`);
  if (e.data.length !== e.classes.length * e.dim) {
    throw new Error(`${where}: ${e.classes.length} classes of ${e.dim} need ${e.classes.length * e.dim} values, got ${e.data.length}`);
  }
  const bad = e.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${where}: embedding of "${e.classes[Math.floor(bad / e.dim)]}" holds ${e.data[bad]}`);
}

/** The safetensors bytes of `e`. */
export function encodeClassEmbeddings(e: ClassEmbeddings): Uint8Array {
  validate(e, 'text embeddings');
  return encodeSafetensors([[EMBEDDINGS_TENSOR, { dtype: 'F32', shape: [e.classes.length, e.dim], data: e.data }]], {
    classes: JSON.stringify(e.classes),
    prompt_template: e.promptTemplate,
    encoder: e.encoder,
  });
}

/** Parses and validates a precomputed-embeddings file's bytes; `where` (the file's path) prefixes every error. */
export function decodeClassEmbeddings(bytes: Uint8Array, where: string): ClassEmbeddings {
  const { tensors, metadata } = decodeSafetensors(bytes, where);
  const t = tensors.get(EMBEDDINGS_TENSOR);
  if (!t) throw new Error(`${where}: no "${EMBEDDINGS_TENSOR}" tensor (has ${[...tensors.keys()].join(', ') || 'none'})`);
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') throw new Error(`${where}: "${EMBEDDINGS_TENSOR}" is ${t.dtype}; expected F32 (or F16, BF16)`);
  if (t.shape.length !== 2) throw new Error(`${where}: "${EMBEDDINGS_TENSOR}" has shape [${t.shape}]; expected [classes, dim]`);
  const need = (key: string): string => {
    const v = metadata[key];
    if (v === undefined) throw new Error(`${where}: no "${key}" in the metadata (has ${Object.keys(metadata).join(', ') || 'none'})`);
    return v;
  };
  let classes: unknown;
  try {
    classes = JSON.parse(need('classes'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new Error(`${where}: metadata "classes" is not JSON (${err.message})`);
    throw err;
  }
  if (!Array.isArray(classes) || !classes.every((c): c is string => typeof c === 'string')) {
    throw new Error(`${where}: metadata "classes" must be a JSON list of strings`);
  }
  const [rows, dim] = t.shape;
  if (rows !== classes.length) throw new Error(`${where}: "${EMBEDDINGS_TENSOR}" has ${rows} rows but the metadata lists ${classes.length} classes`);
  const e: ClassEmbeddings = { encoder: need('encoder'), promptTemplate: need('prompt_template'), classes, dim, data: toFloat32(t.dtype, t.bytes, where) };
  validate(e, where);
  return e;
}

export function saveClassEmbeddings(path: string, e: ClassEmbeddings): void {
  writeFileAtomic(path, encodeClassEmbeddings(e));
}

export function loadClassEmbeddings(path: string): ClassEmbeddings {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read precomputed text embeddings (${err instanceof Error ? err.message : err})`);
  }
  return decodeClassEmbeddings(bytes, path);
}

/**
 * A TextEncoder over precomputed embeddings: `embed` accepts each class's prompt (the template filled with the class)
 * or the bare class name, and throws for any other text, since nothing can be computed.
 */
export class PrecomputedTextEncoder implements TextEncoder {
  readonly name: string;
  readonly dim: number;
  readonly classes: readonly string[];
  readonly promptTemplate: string;
  readonly data: Float32Array;
  private readonly rows = new Map<string, number>();

  /** `source` names where the embeddings came from (a path) in errors. */
  constructor(e: ClassEmbeddings, readonly source = 'precomputed text embeddings') {
    validate(e, source);
    this.name = e.encoder;
    this.dim = e.dim;
    this.classes = [...e.classes];
    this.promptTemplate = e.promptTemplate;
    this.data = e.data;
    // Prompts first: a class name that equals another class's prompt resolves to that prompt.
    e.classes.forEach((c, i) => this.rows.set(fillPrompt(e.promptTemplate, c), i));
    e.classes.forEach((c, i) => {
      if (!this.rows.has(c)) this.rows.set(c, i);
    });
  }

  static load(path: string): PrecomputedTextEncoder {
    return new PrecomputedTextEncoder(loadClassEmbeddings(path), path);
  }

  /** Whether `embed` knows `text` (a class's prompt or a class name). */
  has(text: string): boolean {
    return this.rows.has(text);
  }

  async embed(texts: readonly string[]): Promise<Float32Array> {
    return this.lookup(texts, (t) => this.rows.get(t), 'text');
  }

  /** The stored embeddings of `classes` (by class name only). */
  embedClasses(classes: readonly string[]): Float32Array {
    const index = new Map(this.classes.map((c, i) => [c, i]));
    return this.lookup(classes, (c) => index.get(c), 'class');
  }

  private lookup(keys: readonly string[], row: (key: string) => number | undefined, what: string): Float32Array {
    const out = new Float32Array(keys.length * this.dim);
    keys.forEach((k, i) => {
      const r = row(k);
      if (r === undefined) {
        throw new Error(
          `${this.source}: no precomputed embedding for the ${what} ${JSON.stringify(k)}; it holds ${this.classes.length} classes ` +
            `(e.g. ${this.classes.slice(0, 3).map((c) => JSON.stringify(c)).join(', ')}), embedded as ${JSON.stringify(this.promptTemplate)} by ${this.name}`,
        );
      }
      out.set(embeddingRow(this.data, this.dim, r), i * this.dim);
    });
    return out;
  }
}
