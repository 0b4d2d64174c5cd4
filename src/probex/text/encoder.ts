// The text side of ProbeX: a TextEncoder maps strings to fixed-size vectors (one row each, packed row-major), and
// the zoo's class prompts all come from one template, 'a drawing of a {class}'.

/**
 * Something that embeds text. Implementations: the Universal Sentence Encoder lite (use-lite.ts) and a file of
 * precomputed embeddings (precomputed.ts), e.g. CLIP text embeddings computed elsewhere.
 *
 * Named after the issue; note it shadows the global `TextEncoder` (UTF-8) type in modules that import it.
 */
export interface TextEncoder {
  /** Identifies the embedding space, e.g. "use-lite"; stored in precomputed files as `encoder`. */
  readonly name: string;
  /** Length of one embedding. */
  readonly dim: number;
  /** Embeds `texts`; returns `texts.length * dim` floats, row i (`embeddingRow`) being text i's vector. */
  embed(texts: readonly string[]): Promise<Float32Array>;
}

/** The placeholder a prompt template replaces with the class name. */
export const CLASS_PLACEHOLDER = '{class}';
/** The prompt the zoo embeds for every class. */
export const PROMPT_TEMPLATE = `a drawing of a ${CLASS_PLACEHOLDER}`;

/** `template` with every `{class}` replaced by `className`; the template must contain the placeholder. */
export function fillPrompt(template: string, className: string): string {
  if (!template.includes(CLASS_PLACEHOLDER)) throw new Error(`text: prompt template ${JSON.stringify(template)} has no ${CLASS_PLACEHOLDER} placeholder`);
  return template.replaceAll(CLASS_PLACEHOLDER, className);
}

/** The zoo's prompt for a class: `a drawing of a ${className}` (the class name verbatim, e.g. "The Eiffel Tower"). */
export const promptFor = (className: string): string => fillPrompt(PROMPT_TEMPLATE, className);

/** Row `i` of a packed [n, dim] embedding array, as a view (no copy). */
export function embeddingRow(data: Float32Array, dim: number, i: number): Float32Array {
  if (!Number.isInteger(i) || i < 0 || (i + 1) * dim > data.length) throw new Error(`text: row ${i} is outside ${data.length / dim} embeddings of ${dim}`);
  return data.subarray(i * dim, (i + 1) * dim);
}

/** Cosine similarity of two vectors of equal length (0 when either is all zeros). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`text: cosine of vectors of lengths ${a.length} and ${b.length}`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}
