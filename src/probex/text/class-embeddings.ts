// Embedding every class's prompt with an encoder and writing the result as a precomputed-embeddings file; the zoo
// stores 'a drawing of a {class}' for all QuickDraw classes in <zoo>/text/<encoder>.safetensors.
import { join } from 'node:path';
import { PROMPT_TEMPLATE, fillPrompt, type TextEncoder } from './encoder.ts';
import { saveClassEmbeddings, type ClassEmbeddings } from './precomputed.ts';

/** Where a zoo keeps the class embeddings made by the encoder named `encoder`. */
export const textEmbeddingsPath = (zoo: string, encoder: string): string => join(zoo, 'text', `${encoder}.safetensors`);

/** Embeds `template` filled with each class (in the given order; row i is classes[i]). */
export async function embedClassPrompts(encoder: TextEncoder, classes: readonly string[], template = PROMPT_TEMPLATE): Promise<ClassEmbeddings> {
  const data = await encoder.embed(classes.map((c) => fillPrompt(template, c)));
  if (data.length !== classes.length * encoder.dim) {
    throw new Error(`text: ${encoder.name} returned ${data.length} values for ${classes.length} prompts of ${encoder.dim}`);
  }
  return { encoder: encoder.name, promptTemplate: template, classes: [...classes], dim: encoder.dim, data };
}

/** `embedClassPrompts`, written to `path` (atomically; validated first). Returns what was written. */
export async function writeClassEmbeddings(path: string, encoder: TextEncoder, classes: readonly string[], template = PROMPT_TEMPLATE): Promise<ClassEmbeddings> {
  const e = await embedClassPrompts(encoder, classes, template);
  saveClassEmbeddings(path, e);
  return e;
}
