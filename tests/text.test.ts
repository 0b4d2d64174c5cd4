// Text encoders: USE-lite loads from its npm packages with the network blocked and gives deterministic, unit-norm,
// semantically sensible 512-d vectors; the precomputed-embeddings file round-trips and rejects malformed input.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../src/core/io/safetensors.ts';
import { listQuickdrawClasses } from '../src/datasets/quickdraw.ts';
import { cosine, embeddingRow, promptFor, PROMPT_TEMPLATE } from '../src/probex/text/encoder.ts';
import { loadUseLite, USE_LITE_DIM, type UseLiteEncoder } from '../src/probex/text/use-lite.ts';
import { decodeClassEmbeddings, encodeClassEmbeddings, PrecomputedTextEncoder, type ClassEmbeddings } from '../src/probex/text/precomputed.ts';
import { embedClassPrompts, textEmbeddingsPath, writeClassEmbeddings } from '../src/probex/text/class-embeddings.ts';

const dir = mkdtempSync(join(tmpdir(), 'probex-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Replaces every way Node code reaches the network with a thrower for the duration of `fn`; returns the attempts. */
async function offline<T>(fn: () => Promise<T>): Promise<{ value: T; attempts: string[] }> {
  const attempts: string[] = [];
  const stubs: [object, string][] = [
    [globalThis, 'fetch'],
    [http, 'request'],
    [http, 'get'],
    [https, 'request'],
    [https, 'get'],
    [net, 'connect'],
    [net, 'createConnection'],
  ];
  const saved = stubs.map(([o, k]) => Reflect.get(o, k) as unknown);
  for (const [o, k] of stubs) {
    Reflect.set(o, k, (...args: unknown[]) => {
      attempts.push(`${k}(${String(args[0])})`);
      throw new Error(`network access attempted: ${k}`);
    });
  }
  try {
    return { value: await fn(), attempts };
  } finally {
    stubs.forEach(([o, k], i) => Reflect.set(o, k, saved[i]));
  }
}

describe('USE-lite', () => {
  let use: UseLiteEncoder;
  beforeAll(async () => {
    const { value, attempts } = await offline(async () => {
      const enc = await loadUseLite();
      await enc.embed(['warm up']);
      return enc;
    });
    expect(attempts).toEqual([]);
    use = value;
  });
  afterAll(() => use?.dispose());

  it('loads offline from the package files and gives 512-d unit-norm vectors', async () => {
    expect(use.name).toBe('use-lite');
    expect(use.dim).toBe(USE_LITE_DIM);
    expect(use.tfjsVersion['tfjs-core']).toBe('4.5.0');
    const { value: e, attempts } = await offline(() => use.embed(['a drawing of a cat', 'hello world', 'x']));
    expect(attempts).toEqual([]);
    expect(e.length).toBe(3 * 512);
    for (let i = 0; i < 3; i++) {
      const row = embeddingRow(e, 512, i);
      expect(Math.abs(Math.hypot(...row) - 1)).toBeLessThan(1e-5); // the model's output is already L2-normalized
    }
  });

  it('puts related drawings closer than unrelated ones', async () => {
    const words = ['cat', 'dog', 'bicycle', 'car', 'truck', 'banana', 'guitar', 'piano'];
    const e = await use.embed(words.map(promptFor));
    const cos = (a: string, b: string) => cosine(embeddingRow(e, 512, words.indexOf(a)), embeddingRow(e, 512, words.indexOf(b)));
    // Measured: 0.81 vs 0.67, 0.86 vs 0.62, 0.87 vs 0.59.
    expect(cos('cat', 'dog')).toBeGreaterThan(cos('cat', 'bicycle') + 0.05);
    expect(cos('car', 'truck')).toBeGreaterThan(cos('car', 'banana') + 0.05);
    expect(cos('guitar', 'piano')).toBeGreaterThan(cos('guitar', 'banana') + 0.05);
  });

  it('is deterministic: same text, same call shape, same bits; other batch mates move it by ~1e-7 only', async () => {
    const a = await use.embed(['a drawing of a cat', 'a drawing of a dog', 'a drawing of a cat']);
    const b = await use.embed(['a drawing of a cat', 'a drawing of a dog', 'a drawing of a cat']);
    expect(b).toEqual(a);
    expect(embeddingRow(a, 512, 2)).toEqual(embeddingRow(a, 512, 0));
    const alone = await use.embed(['a drawing of a cat']);
    const diff = Math.max(...alone.map((v, i) => Math.abs(v - a[i])));
    expect(diff).toBeLessThan(1e-5);
  });

  it('rejects empty texts (the model would drop a trailing one silently)', async () => {
    await expect(use.embed(['a drawing of a cat', ''])).rejects.toThrow(/text 1 is empty/);
    expect((await use.embed([])).length).toBe(0);
  });

  it('embeds all QuickDraw class prompts into a file that reads back bit-exactly', async () => {
    const classes = await listQuickdrawClasses();
    expect(classes.length).toBe(345);
    const path = textEmbeddingsPath(join(dir, 'zoo'), use.name);
    expect(path).toBe(join(dir, 'zoo', 'text', 'use-lite.safetensors'));
    const written = await writeClassEmbeddings(path, use, classes);
    const pre = PrecomputedTextEncoder.load(path);
    expect(pre.name).toBe('use-lite');
    expect(pre.dim).toBe(512);
    expect(pre.promptTemplate).toBe(PROMPT_TEMPLATE);
    expect([...pre.classes]).toEqual(classes);
    expect(pre.data).toEqual(written.data);
    // The precomputed encoder answers prompts and bare class names with the stored rows.
    const pick = [classes[300], classes[0], classes[7]];
    expect(await pre.embed(pick.map(promptFor))).toEqual(pre.embedClasses(pick));
    expect(await pre.embed(pick)).toEqual(pre.embedClasses(pick));
    expect(embeddingRow(pre.embedClasses(pick), 512, 1)).toEqual(embeddingRow(written.data, 512, 0));
    // ...and they match a fresh USE-lite call on the same prompt to within batch-composition noise.
    const fresh = await use.embed([promptFor(classes[300])]);
    expect(cosine(fresh, embeddingRow(written.data, 512, 300))).toBeGreaterThan(0.99999);
  });

  // Every copy of TF.js in a process shares one engine (globalThis._tfengine): @tensorflow/tfjs-core 4.22 (the
  // benchmarks' devDependency) sees the WASM backend USE-lite registered, and USE-lite must leave its backend alone.
  it('coexists with @tensorflow/tfjs-core 4.22: runs on WASM and restores the active backend', async () => {
    const tf = await import('@tensorflow/tfjs-core');
    expect(tf.engine().registryFactory).toHaveProperty('wasm');
    class Idle extends tf.KernelBackend {
      override dispose(): void {}
    }
    tf.registerBackend('probex-idle', () => new Idle(), 0);
    expect(await tf.setBackend('probex-idle')).toBe(true);
    const before = await use.embed(['a drawing of a cat']);
    expect(tf.getBackend()).toBe('probex-idle');
    expect(await use.embed(['a drawing of a cat'])).toEqual(before);
    tf.removeBackend('probex-idle');
  });
});

describe('precomputed embeddings', () => {
  const sample = (): ClassEmbeddings => ({
    encoder: 'clip-test',
    promptTemplate: 'a photo of a {class}',
    classes: ['cat', 'dog', 'The Eiffel Tower'],
    dim: 4,
    data: Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5),
  });
  const file = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const raw = (meta: Record<string, string>, t: { dtype: 'F32' | 'I32' | 'F16'; shape: number[]; data: ArrayBufferView } | null, name = 'embeddings') =>
    encodeSafetensors(t ? [[name, t]] : [], meta);
  const meta = { classes: '["cat","dog","The Eiffel Tower"]', prompt_template: 'a photo of a {class}', encoder: 'clip-test' };
  const f32 = { dtype: 'F32' as const, shape: [3, 4], data: new Float32Array(12) };

  it('round-trips through bytes and answers prompts and class names', async () => {
    const e = sample();
    const back = decodeClassEmbeddings(encodeClassEmbeddings(e), 'mem');
    expect(back).toEqual(e);
    const enc = new PrecomputedTextEncoder(back, 'mem');
    expect(enc.has('a photo of a dog')).toBe(true);
    expect(enc.has('a drawing of a dog')).toBe(false);
    expect(await enc.embed(['a photo of a The Eiffel Tower', 'cat'])).toEqual(Float32Array.from([...e.data.subarray(8, 12), ...e.data.subarray(0, 4)]));
  });

  it('reads F16 embeddings as float32', () => {
    const half = new Uint16Array(12).fill(0x3c00); // 1.0
    const e = decodeClassEmbeddings(raw(meta, { dtype: 'F16', shape: [3, 4], data: half }), 'half.safetensors');
    expect([...e.data]).toEqual(new Array(12).fill(1));
  });

  it('errors clearly on unknown texts', async () => {
    const enc = PrecomputedTextEncoder.load(file('ok.safetensors', encodeClassEmbeddings(sample())));
    await expect(enc.embed(['a photo of a cat', 'a photo of a bicycle'])).rejects.toThrow(
      /ok\.safetensors: no precomputed embedding for the text "a photo of a bicycle"; it holds 3 classes .* embedded as "a photo of a \{class\}" by clip-test/,
    );
    expect(() => enc.embedClasses(['a photo of a cat'])).toThrow(/no precomputed embedding for the class "a photo of a cat"/);
  });

  it.each([
    ['missing tensor', raw(meta, f32, 'emb'), /missing tensor\.safetensors: no "embeddings" tensor \(has emb\)/],
    ['no tensors', raw(meta, null), /no "embeddings" tensor \(has none\)/],
    ['wrong dtype', raw(meta, { dtype: 'I32', shape: [3, 4], data: new Int32Array(12) }), /wrong dtype\.safetensors: "embeddings" is I32; expected F32/],
    ['1-d tensor', raw(meta, { dtype: 'F32', shape: [12], data: new Float32Array(12) }), /has shape \[12\]; expected \[classes, dim\]/],
    ['row count', raw({ ...meta, classes: '["cat","dog"]' }, f32), /row count\.safetensors: "embeddings" has 3 rows but the metadata lists 2 classes/],
    ['no classes', raw({ prompt_template: meta.prompt_template, encoder: 'x' }, f32), /no "classes" in the metadata/],
    ['classes not JSON', raw({ ...meta, classes: 'cat,dog' }, f32), /metadata "classes" is not JSON/],
    ['classes not strings', raw({ ...meta, classes: '["cat",2,"x"]' }, f32), /must be a JSON list of strings/],
    ['duplicate class', raw({ ...meta, classes: '["cat","dog","cat"]' }, f32), /class "cat" appears twice/],
    ['no template', raw({ classes: meta.classes, encoder: 'x' }, f32), /no "prompt_template" in the metadata/],
    ['template lacks placeholder', raw({ ...meta, prompt_template: 'a photo' }, f32), /has no \{class\} placeholder/],
    ['no encoder', raw({ classes: meta.classes, prompt_template: meta.prompt_template }, f32), /no "encoder" in the metadata/],
    ['NaN', raw(meta, { ...f32, data: Float32Array.from({ length: 12 }, (_, i) => (i === 5 ? NaN : 0)) }), /embedding of "dog" holds NaN/],
    ['not safetensors', new TextEncoder().encode('hello'), /not safetensors\.safetensors: file of 5 bytes is too short/],
  ])('rejects a file with %s, naming the file', (name, bytes, message) => {
    const path = file(`${name}.safetensors`, bytes);
    expect(() => PrecomputedTextEncoder.load(path)).toThrow(message);
  });

  it('names a missing file', () => {
    expect(() => PrecomputedTextEncoder.load(join(dir, 'absent.safetensors'))).toThrow(/absent\.safetensors: cannot read precomputed text embeddings/);
  });

  it('embedClassPrompts fills the template in class order', async () => {
    const seen: string[] = [];
    const fake = {
      name: 'fake',
      dim: 2,
      embed: async (texts: readonly string[]) => {
        seen.push(...texts);
        return Float32Array.from(texts.flatMap((t) => [t.length, 1]));
      },
    };
    const e = await embedClassPrompts(fake, ['ant', 'The Mona Lisa']);
    expect(seen).toEqual(['a drawing of a ant', 'a drawing of a The Mona Lisa']);
    expect(e).toEqual({ encoder: 'fake', promptTemplate: PROMPT_TEMPLATE, classes: ['ant', 'The Mona Lisa'], dim: 2, data: Float32Array.from([18, 1, 28, 1]) });
    await expect(embedClassPrompts({ ...fake, embed: async () => new Float32Array(3) }, ['ant', 'bee'])).rejects.toThrow(/fake returned 3 values for 2 prompts of 2/);
  });
});
