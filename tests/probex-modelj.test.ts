// Model-J read where it lies, on look-alike folders generated here at reduced sizes with the real layouts, folder and
// file names, tensor names and metadata keys: HF caches per split for the classifier subsets (refs/main, several
// snapshots, blob links), LoRA bundles with holdout splits for SD; labels from the metadata, class maps in every form,
// the default layers checked against the paper code's sorted layer lists, and each error naming its problem.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors } from '../src/core/io/safetensors.ts';
import { denseMatrix, readLayer } from '../src/probex/data/layers.ts';
import type { Split } from '../src/probex/zoo/layout.ts';
import {
  DEFAULT_LAYERS,
  knownSubset,
  layoutOfSubset,
  modelJLayer,
  modelJSamples,
  parseClassMap,
  parsePythonStringList,
  readClassMap,
} from '../src/probex/data/modelj.ts';

const tmp = mkdtempSync(join(tmpdir(), 'modelj-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Spec = [name: string, shape: number[]];

/** Deterministic, exactly representable values: model `seed`, tensor `t`, element i. */
const values = (seed: number, t: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => seed * 100_000 + t * 1000 + (i % 1000) - 500);
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const tensorValues = (specs: Spec[], seed: number, name: string): Float32Array => {
  const t = specs.findIndex(([n]) => n === name);
  if (t < 0) throw new Error(`test: no spec ${name}`);
  return values(seed, t, size(specs[t][1]));
};

function writeModel(path: string, specs: Spec[], seed: number, metadata: Record<string, string>): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const bytes = encodeSafetensors(specs.map(([name, shape], t) => [name, { dtype: 'F32', shape, data: values(seed, t, size(shape)) }]), metadata);
  writeFileSync(path, bytes);
}

/** Python's str(list) of strings. */
const pyList = (xs: string[]): string => `[${xs.map((s) => (s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)).join(', ')}]`;

// ---------------------------------------------------------------------------------------------------------------------
// Classifier look-alikes (ViT width 16 instead of 768; ResNet convs 8/16 channels)

const D = 16;
const VIT: Spec[] = [
  ['classifier.bias', [50]],
  ['classifier.weight', [50, D]],
  ['vit.embeddings.cls_token', [1, 1, D]],
  ['vit.embeddings.patch_embeddings.projection.weight', [D, 3, 4, 4]],
  ['vit.embeddings.position_embeddings', [1, 5, D]],
  ...[0, 7, 8, 10].flatMap((b): Spec[] => [
    [`vit.encoder.layer.${b}.attention.attention.key.weight`, [D, D]],
    [`vit.encoder.layer.${b}.attention.attention.query.weight`, [D, D]],
    [`vit.encoder.layer.${b}.attention.attention.value.bias`, [D]],
    [`vit.encoder.layer.${b}.attention.attention.value.weight`, [D, D]],
    [`vit.encoder.layer.${b}.attention.output.dense.bias`, [D]],
    [`vit.encoder.layer.${b}.attention.output.dense.weight`, [D, D]],
    [`vit.encoder.layer.${b}.intermediate.dense.weight`, [4 * D, D]],
    [`vit.encoder.layer.${b}.layernorm_before.weight`, [D]],
    [`vit.encoder.layer.${b}.output.dense.weight`, [D, 4 * D]],
  ]),
];
const RESNET: Spec[] = [
  ['classifier.1.bias', [50]],
  ['classifier.1.weight', [50, 16]],
  ['resnet.embedder.embedder.convolution.weight', [8, 3, 7, 7]],
  ['resnet.encoder.stages.2.layers.19.layer.0.convolution.weight', [8, 16, 1, 1]],
  ['resnet.encoder.stages.2.layers.19.layer.0.normalization.weight', [8]],
  ['resnet.encoder.stages.2.layers.19.layer.1.convolution.weight', [8, 8, 3, 3]],
  ['resnet.encoder.stages.2.layers.19.layer.2.convolution.weight', [16, 8, 1, 1]],
];
const CIFAR = ['apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle'];
const targets = (idx: number): string[] => [0, 1, 2, 3, 4].map((k) => CIFAR[(idx * 3 + k * 2) % CIFAR.length]);
const classifierMeta = (idx: number, split: Split, subset: string, chosen: string = pyList(targets(idx))): Record<string, string> => ({
  format: 'pt',
  dataset_chosen_targets: chosen,
  model_idx: String(idx),
  seed: String(idx),
  split,
  subset,
  learning_rate: '5e-05',
  lr_scheduler: 'cosine_with_restarts',
});
const repoName = (subset: string, idx: number): string => `models--ProbeX--Model-J__${subset}__model_idx_${String(idx).padStart(4, '0')}`;

interface HfOptions {
  /** Snapshot folder names; the model goes into each (seeded differently: seed + 1000 k). */
  refs?: string[];
  /** Contents of refs/main, if any. */
  main?: string;
  /** Store the file as HF does: a blob, linked from the snapshot. */
  blob?: boolean;
  specs?: Spec[];
  meta?: Record<string, string>;
}

/** One HF cache repo of the classifier layout; returns the snapshot file with seed `idx` (the only or the first ref). */
function hfModel(subsetDir: string, subset: string, split: Split, idx: number, o: HfOptions = {}): string {
  const repo = join(subsetDir, split, repoName(subset, idx));
  const refs = o.refs ?? ['0b2d7e1f4c3a59e8d6b1a0c9f8e7d6c5b4a39281'];
  const specs = o.specs ?? VIT;
  mkdirSync(join(subsetDir, split, '.locks', repoName(subset, idx)), { recursive: true });
  refs.forEach((ref, k) => {
    const file = join(repo, 'snapshots', ref, 'model.safetensors');
    const meta = o.meta ?? classifierMeta(idx, split, subset);
    if (o.blob) {
      const blob = join(repo, 'blobs', `blob${k}`);
      writeModel(blob, specs, idx + 1000 * k, meta);
      mkdirSync(join(file, '..'), { recursive: true });
      symlinkSync(join('..', '..', 'blobs', `blob${k}`), file);
    } else writeModel(file, specs, idx + 1000 * k, meta);
    writeFileSync(join(repo, 'snapshots', ref, 'config.json'), '{}');
  });
  if (o.main !== undefined) {
    mkdirSync(join(repo, 'refs'), { recursive: true });
    writeFileSync(join(repo, 'refs', 'main'), o.main);
  }
  return join(repo, 'snapshots', refs[0], 'model.safetensors');
}

// ---------------------------------------------------------------------------------------------------------------------
// LoRA look-alikes (rank 2, 24 x 24 products instead of rank 16, 1280 x 1280)

const R = 2;
const W = 24;
const CTX = 12;
const SD_LAYER = 'unet.down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_q';
const LORA: Spec[] = ['down_blocks.2.attentions.0', 'down_blocks.2.attentions.1', 'up_blocks.1.attentions.0'].flatMap((b) =>
  ['attn1', 'attn2'].flatMap((a) =>
    ['to_k', 'to_out.0', 'to_q', 'to_v'].flatMap((p): Spec[] => {
      const prefix = `unet.${b}.transformer_blocks.0.${a}.${p}`;
      const cols = a === 'attn2' && (p === 'to_k' || p === 'to_v') ? CTX : W;
      return [
        [`${prefix}.lora.down.weight`, [R, cols]],
        [`${prefix}.lora.up.weight`, [W, R]],
      ];
    }),
  ),
);
const loraMeta = (idx: number, split: Split, wnid: string): Record<string, string> => ({
  imagenet_class_id: wnid,
  model_idx: String(idx),
  split,
  seed: String(idx),
  rank: '16',
  learning_rate: '3e-05',
  max_train_steps: '600',
});
function loraModel(subsetDir: string, split: Split, idx: number, meta: Record<string, string>, specs: Spec[] = LORA): string {
  const dir = join(subsetDir, split, `model_idx_${String(idx).padStart(4, '0')}`);
  writeModel(join(dir, 'pytorch_lora_weights.safetensors'), specs, idx, meta);
  mkdirSync(join(dir, 'training_images'), { recursive: true });
  writeFileSync(join(dir, 'training_images', '0.jpg'), 'not an image');
  return join(dir, 'pytorch_lora_weights.safetensors');
}

// Indices interleave the splits, so sorting by index is visible.
const SD_MODELS: [Split, number, string][] = [
  ['train', 0, 'n01440764'],
  ['val_holdout', 1, 'n01491361'],
  ['val', 2, 'n01443537'],
  ['train', 3, 'n01443537'],
  ['test_holdout', 4, 'n01494475'],
  ['train', 5, 'n01484850'],
  ['test', 6, 'n01484850'],
  ['test_holdout', 7, 'n01491361'],
  ['train', 8, 'n01440764'],
];
const MAP_TEXT = 'n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\nn01484850 great white shark, white shark\nn01491361 tiger shark, Galeocerdo cuvieri\nn01494475 hammerhead, hammerhead shark\n';

// ---------------------------------------------------------------------------------------------------------------------
// The generated roots

const cls = join(tmp, 'classifiers');
const supvit = join(cls, 'SupViT');
const SUPVIT: [Split, number][] = [
  ['train', 3],
  ['train', 0],
  ['val', 2],
  ['test', 1],
  ['train', 11],
];
const supvitFiles = new Map<number, string>();
for (const [split, idx] of SUPVIT) {
  // model 0: HF blob links and refs/main naming the older-sorting of two snapshots; model 11: two snapshots, no refs.
  const o: HfOptions =
    idx === 0 ? { refs: ['aaaa1111', 'ffff9999'], main: 'aaaa1111\n', blob: true } : idx === 11 ? { refs: ['aaaa1111', 'ffff9999'] } : { main: '0b2d7e1f4c3a59e8d6b1a0c9f8e7d6c5b4a39281' };
  supvitFiles.set(idx, hfModel(supvit, 'SupViT', split, idx, o));
}
// The paper code eval()s the metadata: double quotes and an apostrophe inside them parse too.
hfModel(join(cls, 'DINO'), 'DINO', 'train', 5, { meta: classifierMeta(5, 'train', 'DINO', '["apple", "bear", "it\'s", \'bee\',\n "bed",]') });
hfModel(join(cls, 'DINO'), 'DINO', 'val', 6);
hfModel(join(cls, 'MAE'), 'MAE', 'train', 929);
const resnetFile = hfModel(join(cls, 'ResNet'), 'ResNet', 'train', 4, { specs: RESNET });
hfModel(join(cls, 'ResNet'), 'ResNet', 'test', 9, { specs: RESNET });

const sdParent = join(tmp, 'sd');
const sd200 = join(sdParent, 'SD_200');
const sdFiles = new Map<number, string>();
for (const [split, idx, wnid] of SD_MODELS) sdFiles.set(idx, loraModel(sd200, split, idx, loraMeta(idx, split, wnid)));
writeFileSync(join(sd200, 'README.md'), '# Model-J__SD_200');
mkdirSync(join(sd200, '.cache', 'huggingface'), { recursive: true });
const mapTxt = join(tmp, 'LOC_synset_mapping.txt');
writeFileSync(mapTxt, MAP_TEXT);

// ---------------------------------------------------------------------------------------------------------------------

describe('Model-J default layers', () => {
  it('are the README best layers at their indices in the sorted layer-name lists of the paper code', () => {
    const blocks = Array.from({ length: 12 }, (_, b) => b);
    const vit = [
      'classifier.weight',
      'vit.embeddings.position_embeddings',
      ...blocks.flatMap((b) =>
        ['attention.attention.key.weight', 'attention.attention.query.weight', 'attention.attention.value.weight', 'attention.output.dense.weight', 'intermediate.dense.weight', 'output.dense.weight'].map(
          (w) => `vit.encoder.layer.${b}.${w}`,
        ),
      ),
    ].sort();
    expect(vit).toHaveLength(74);
    expect(vit[59]).toBe(DEFAULT_LAYERS.SupViT);
    expect(vit[59]).toBe(DEFAULT_LAYERS.DINO);
    expect(vit[64]).toBe(DEFAULT_LAYERS.MAE);
    expect(vit[47]).toBe('vit.encoder.layer.5.attention.output.dense.weight'); // MVProbe's DINO layer

    const depths = [3, 4, 23, 3];
    const resnet = [
      'classifier.1.weight',
      'resnet.embedder.embedder.convolution.weight',
      ...depths.flatMap((n, s) =>
        Array.from({ length: n }, (_, l) => [
          ...[0, 1, 2].map((k) => `resnet.encoder.stages.${s}.layers.${l}.layer.${k}.convolution.weight`),
          ...(l === 0 ? [`resnet.encoder.stages.${s}.layers.0.shortcut.convolution.weight`] : []),
        ]).flat(),
      ),
    ].sort();
    expect(resnet).toHaveLength(105);
    expect(resnet[59]).toBe(DEFAULT_LAYERS.ResNet);
    expect(resnet[67]).toBe('resnet.encoder.stages.2.layers.20.layer.2.convolution.weight'); // MVProbe's ResNet layer

    const unet = [
      ...[0, 1, 2].flatMap((d) => [0, 1].map((a) => `down_blocks.${d}.attentions.${a}`)),
      'mid_block.attentions.0',
      ...[1, 2, 3].flatMap((u) => [0, 1, 2].map((a) => `up_blocks.${u}.attentions.${a}`)),
    ];
    const downs = unet
      .flatMap((b) => ['attn1', 'attn2'].flatMap((a) => ['to_q', 'to_k', 'to_v', 'to_out.0'].map((p) => `unet.${b}.transformer_blocks.0.${a}.${p}.lora.down.weight`)))
      .sort();
    expect(downs).toHaveLength(128);
    const pairs = downs.map((n) => n.replace(/\.lora\.down\.weight$/, '.lora'));
    expect(pairs[46]).toBe(DEFAULT_LAYERS.SD_200);
    expect(DEFAULT_LAYERS.SD_1k).toBe(DEFAULT_LAYERS.SD_200);
    for (const peak of [30, 38, 46, 54, 62, 70, 78, 86, 94]) expect(pairs[peak]).toMatch(/attn2\.to_q\.lora$/);
  });

  it('name subsets and layouts, and normalize LoRA layer names to the pair', () => {
    expect(knownSubset('supvit')).toBe('SupViT');
    expect(knownSubset('Other')).toBeNull();
    expect(layoutOfSubset('SD_1k')).toBe('lora');
    expect(layoutOfSubset('sd_custom')).toBe('lora');
    expect(layoutOfSubset('ResNet')).toBe('classifier');
    expect(layoutOfSubset('Mine')).toBeNull();
    expect(modelJLayer('MAE')).toBe(DEFAULT_LAYERS.MAE);
    expect(modelJLayer('SupViT', 'classifier.weight')).toBe('classifier.weight');
    for (const l of [SD_LAYER, `${SD_LAYER}.lora`, `${SD_LAYER}.lora.down.weight`, `${SD_LAYER}.lora.up.weight`]) expect(modelJLayer('SD_200', l)).toBe(`${SD_LAYER}.lora`);
    expect(() => modelJLayer('Mine')).toThrow(/subset "Mine" has no default layer.*--layer/);
  });
});

describe('Python-style lists', () => {
  it('parse as str(list) writes them, in either quote, with apostrophes, escapes and trailing commas', () => {
    const w = 'm.safetensors';
    expect(parsePythonStringList("['apple', 'aquarium_fish', 'maple_tree']", w)).toEqual(['apple', 'aquarium_fish', 'maple_tree']);
    expect(parsePythonStringList('["apple", "bear"]', w)).toEqual(['apple', 'bear']);
    expect(parsePythonStringList(`["it's", 'bee', "x"]`, w)).toEqual(["it's", 'bee', 'x']);
    expect(parsePythonStringList(String.raw`['it\'s', 'back\\slash', 'a\"b', '\x41\u00e9']`, w)).toEqual(["it's", 'back\\slash', 'a"b', 'Aé']);
    expect(parsePythonStringList("  [\n  'a',\n\t'b',\n]  ", w)).toEqual(['a', 'b']);
    expect(parsePythonStringList('[]', w)).toEqual([]);
    expect(parsePythonStringList(pyList(CIFAR.concat(["o'clock"])), w)).toEqual(CIFAR.concat(["o'clock"]));
  });

  it('reject anything else, naming the source', () => {
    for (const bad of ["apple, bear", "['apple'", "['apple' 'bear']", '[1, 2]', "['a'] extra", "['a\\x4']", '']) {
      expect(() => parsePythonStringList(bad, 'model.safetensors: metadata')).toThrow(/^model\.safetensors: metadata: not a Python list of strings/);
    }
  });
});

describe('class maps', () => {
  const expectTench = (m: Map<string, string>): void => {
    expect(m.get('n01440764')).toBe('tench');
    expect(m.get('n01443537')).toBe('goldfish');
  };

  it('read JSON: names, lists of names (the first) and the Keras class index', () => {
    expectTench(parseClassMap('{"n01440764": "tench", "n01443537": "goldfish"}', 'm.json'));
    expectTench(parseClassMap('{"n01440764": ["tench", "Tinca tinca"], "n01443537": ["goldfish", "Carassius auratus"]}', 'm.json'));
    expectTench(parseClassMap('\uFEFF {"0": ["n01440764", "tench"], "1": ["n01443537", "goldfish"]}', 'm.json'));
  });

  it('read text: space or tab, the first name before a comma, comments, blank lines, CRLF', () => {
    expectTench(parseClassMap('n01440764 tench\nn01443537 goldfish\n', 'm.txt'));
    expectTench(parseClassMap('# wnid name\r\n\r\nn01440764\ttench, Tinca tinca\r\nn01443537\t goldfish, Carassius auratus\r\n', 'm.txt'));
    const m = readClassMap(mapTxt);
    expect(m.size).toBe(5);
    expect(m.get('n01484850')).toBe('great white shark');
  });

  it('keep two synsets of one name apart (ImageNet has two cranes), and cut synonyms alike in both forms', () => {
    for (const m of [
      parseClassMap('n02012849 crane\nn03126707 crane\nn01440764 tench, Tinca tinca\n', 'm.txt'),
      parseClassMap('{"n02012849": "crane", "n03126707": ["crane"], "n01440764": "tench, Tinca tinca"}', 'm.json'),
      parseClassMap('{"134": ["n02012849", "crane"], "517": ["n03126707", "crane"], "0": ["n01440764", "tench"]}', 'm.json'),
    ]) {
      expect([m.get('n02012849'), m.get('n03126707'), m.get('n01440764')]).toEqual(['crane (n02012849)', 'crane (n03126707)', 'tench']);
    }
  });

  it('reject malformed maps, naming the file and the place', () => {
    expect(() => parseClassMap('{"n01440764": "tench",', 'm.json')).toThrow(/^m\.json: class map is not valid JSON/);
    expect(() => parseClassMap('["tench"]', 'm.json')).toThrow(/^m\.json: /);
    expect(() => parseClassMap('{"n01440764": 3}', 'm.json')).toThrow(/^m\.json: key "n01440764": expected a class name/);
    expect(() => parseClassMap('n01440764 tench\nn01443537\n', 'm.txt')).toThrow(/^m\.txt: line 2: expected "<wordnet id> <name>/);
    expect(() => parseClassMap('n01440764 tench\nn01440764 carp\n', 'm.txt')).toThrow(/^m\.txt: line 2: "n01440764" is mapped twice/);
    expect(() => parseClassMap('# nothing\n', 'm.txt')).toThrow(/^m\.txt: class map is empty/);
    expect(() => readClassMap(join(tmp, 'nope.txt'))).toThrow(/nope\.txt: cannot read the class map/);
  });
});

describe('classifier subsets (HF cache per split)', () => {
  it('list the models sorted by index, with splits, labels from the metadata and the default layer', () => {
    const t = modelJSamples(cls, 'SupViT');
    expect(t.tree).toBe('SupViT');
    expect(t.layout).toBe('classifier');
    expect(t.dir).toBe(supvit);
    expect(t.task).toBe('multi-label');
    expect(t.base).toBeNull();
    expect(t.layer).toBe(DEFAULT_LAYERS.SupViT);
    expect(t.shape).toEqual([D, D]);
    expect(t.models.map((m) => [m.id, m.split])).toEqual([
      ['model_idx_0000', 'train'],
      ['model_idx_0001', 'test'],
      ['model_idx_0002', 'val'],
      ['model_idx_0003', 'train'],
      ['model_idx_0011', 'train'],
    ]);
    for (const m of t.models) {
      expect(m.tree).toBe('SupViT');
      expect(m.classes).toEqual(targets(Number(m.id.slice(-4))));
    }
    expect(t.labels).toEqual([...new Set([0, 3, 11].flatMap(targets))].sort());
    expect(t.heldout).toEqual([]);
    expect(modelJSamples(cls, 'supvit', { base: '/bases/vit.safetensors' }).base).toBe('/bases/vit.safetensors');
  });

  it('pick the snapshot refs/main names, else the one sorted last, following blob links', () => {
    const t = modelJSamples(cls, 'SupViT');
    const path = (id: string): string => t.models.find((m) => m.id === id)!.path;
    expect(path('model_idx_0000')).toBe(join(supvit, 'train', repoName('SupViT', 0), 'snapshots', 'aaaa1111', 'model.safetensors'));
    expect(path('model_idx_0011')).toBe(join(supvit, 'train', repoName('SupViT', 11), 'snapshots', 'ffff9999', 'model.safetensors'));
    expect(path('model_idx_0003')).toBe(supvitFiles.get(3));
    // Contents: model 0 is seed 0 (through its blob link), model 11's last snapshot is seed 11 + 1000.
    expect(Array.from((readLayer(path('model_idx_0000'), DEFAULT_LAYERS.SupViT) as { data: Float32Array }).data)).toEqual(Array.from(tensorValues(VIT, 0, DEFAULT_LAYERS.SupViT)));
    expect((readLayer(path('model_idx_0011'), DEFAULT_LAYERS.SupViT) as { data: Float32Array }).data[0]).toBe(tensorValues(VIT, 1011, DEFAULT_LAYERS.SupViT)[0]);
  });

  it('accept the subset folder itself as the root, and a chosen split list', () => {
    const t = modelJSamples(supvit, 'SupViT', { splits: ['train', 'test'] });
    expect(t.dir).toBe(supvit);
    expect(t.models.map((m) => m.id)).toEqual(['model_idx_0000', 'model_idx_0001', 'model_idx_0003', 'model_idx_0011']);
  });

  it('read the chosen layer only: a 16 x 16 ViT weight as stored, by name', () => {
    const t = modelJSamples(cls, 'MAE');
    expect(t.layer).toBe('vit.encoder.layer.8.attention.attention.value.weight');
    const m = readLayer(t.models[0].path, t.layer!);
    expect(m.kind).toBe('dense');
    if (m.kind !== 'dense') return;
    expect([m.rows, m.cols]).toEqual([D, D]);
    expect(Array.from(m.data)).toEqual(Array.from(tensorValues(VIT, 929, t.layer!)));
    const other = modelJSamples(cls, 'MAE', { layer: 'vit.encoder.layer.10.intermediate.dense.weight' });
    expect(other.shape).toEqual([4 * D, D]);
  });

  it('parse double-quoted targets with apostrophes (DINO)', () => {
    const t = modelJSamples(cls, 'DINO');
    expect(t.models[0].classes).toEqual(['apple', 'bear', "it's", 'bee', 'bed']);
    expect(t.labels).toEqual(['apple', 'bear', 'bed', 'bee', "it's"]);
    expect(t.models.map((m) => m.split)).toEqual(['train', 'val']);
  });

  it('view ResNet convs as the paper does: 1x1 squeezed to [out, in], k x k as the raw reshape [in k k, out]', () => {
    const t = modelJSamples(cls, 'ResNet');
    expect(t.layer).toBe(DEFAULT_LAYERS.ResNet);
    expect(t.shape).toEqual([8, 16]);
    expect(t.models.map((m) => [m.id, m.split])).toEqual([
      ['model_idx_0004', 'train'],
      ['model_idx_0009', 'test'],
    ]);
    const one = readLayer(resnetFile, DEFAULT_LAYERS.ResNet);
    expect(one.kind === 'dense' && [one.rows, one.cols]).toEqual([8, 16]);
    expect(Array.from(denseMatrix(one))).toEqual(Array.from(tensorValues(RESNET, 4, DEFAULT_LAYERS.ResNet)));
    const k3 = 'resnet.encoder.stages.2.layers.19.layer.1.convolution.weight';
    expect(modelJSamples(cls, 'ResNet', { layer: k3 }).shape).toEqual([72, 8]);
    const three = readLayer(resnetFile, k3);
    expect(three.kind === 'dense' && [three.rows, three.cols]).toEqual([72, 8]);
    // A raw reshape: the stored order, unpermuted.
    expect(Array.from(denseMatrix(three))).toEqual(Array.from(tensorValues(RESNET, 4, k3)));
  });
});

describe('LoRA subsets (SD bundles)', () => {
  it('list the models of all five splits sorted by index, with WordNet ids as classes without a map', () => {
    const t = modelJSamples(sdParent, 'SD_200');
    expect(t.layout).toBe('lora');
    expect(t.dir).toBe(sd200);
    expect(t.task).toBe('single');
    expect(t.base).toBeNull();
    expect(t.layer).toBe(`${SD_LAYER}.lora`);
    expect(t.shape).toEqual([W, W]);
    expect(t.models.map((m) => [m.id, m.split, m.classes])).toEqual(SD_MODELS.map(([s, i, w]) => [`model_idx_${String(i).padStart(4, '0')}`, s, [w]]));
    expect(t.models.map((m) => m.path)).toEqual(SD_MODELS.map(([, i]) => sdFiles.get(i)));
    expect(t.labels).toEqual(['n01440764', 'n01443537', 'n01484850']);
    expect(t.heldout).toEqual(['n01491361', 'n01494475']);
  });

  it('accept the root that holds the splits directly, and name classes through a class map', () => {
    const t = modelJSamples(sd200, 'SD_200', { classMap: mapTxt });
    expect(t.dir).toBe(sd200);
    expect(t.labels).toEqual(['goldfish', 'great white shark', 'tench']);
    expect(t.heldout).toEqual(['hammerhead', 'tiger shark']);
    expect(t.models[1].classes).toEqual(['tiger shark']);
    const json = join(tmp, 'imagenet_class_index.json');
    writeFileSync(json, JSON.stringify(Object.fromEntries(MAP_TEXT.trim().split('\n').map((l, i) => [String(i), [l.split(' ')[0], l.slice(10).split(',')[0]]]))));
    expect(modelJSamples(sd200, 'SD_200', { classMap: json }).labels).toEqual(t.labels);
    const only = modelJSamples(sdParent, 'SD_200', { splits: ['train', 'val_holdout'] });
    expect(only.models.map((m) => m.id)).toEqual(['model_idx_0000', 'model_idx_0001', 'model_idx_0003', 'model_idx_0005', 'model_idx_0008']);
  });

  it('read the chosen pair kept factored (rank 2, a 24 x 24 product), and X U = up (down U)', () => {
    const t = modelJSamples(sdParent, 'SD_200');
    const m = readLayer(t.models[3].path, t.layer!);
    expect(m.kind).toBe('lora');
    if (m.kind !== 'lora') return;
    expect([m.rows, m.cols, m.rank]).toEqual([W, W, R]);
    expect(Array.from(m.up)).toEqual(Array.from(tensorValues(LORA, 3, `${SD_LAYER}.lora.up.weight`)));
    expect(Array.from(m.down)).toEqual(Array.from(tensorValues(LORA, 3, `${SD_LAYER}.lora.down.weight`)));
    // Probes U [W, 3]: up (down U) never forms X, and agrees with X U.
    const U = Float32Array.from({ length: W * 3 }, (_, i) => ((i * 7) % 5) - 2);
    const mm = (a: Float32Array, b: Float32Array, n: number, k: number, p: number): Float64Array => {
      const o = new Float64Array(n * p);
      for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) for (let q = 0; q < k; q++) o[i * p + j] += a[i * k + q] * b[q * p + j];
      return o;
    };
    const factored = mm(m.up, Float32Array.from(mm(m.down, U, R, W, 3)), W, R, 3);
    const dense = mm(denseMatrix(m), U, W, W, 3);
    const scale = Math.max(...dense.map(Math.abs));
    for (let i = 0; i < dense.length; i++) expect(Math.abs(factored[i] - dense[i])).toBeLessThan(1e-5 * scale);
    // The cross-attention key maps the (smaller) context width.
    expect(modelJSamples(sdParent, 'SD_200', { layer: 'unet.down_blocks.2.attentions.0.transformer_blocks.0.attn2.to_k.lora.down.weight' }).shape).toEqual([W, CTX]);
  });

  it('detect the layout on disk for a subset name it does not know', () => {
    const dir = join(tmp, 'custom');
    loraModel(join(dir, 'MyLoRAs'), 'train', 0, loraMeta(0, 'train', 'n01440764'));
    hfModel(join(dir, 'MyViTs'), 'MyViTs', 'train', 1);
    expect(() => modelJSamples(dir, 'MyLoRAs')).toThrow(/subset "MyLoRAs" has no default layer/);
    const lora = modelJSamples(dir, 'MyLoRAs', { layer: SD_LAYER });
    expect([lora.layout, lora.layer, lora.models.length]).toEqual(['lora', `${SD_LAYER}.lora`, 1]);
    const vit = modelJSamples(dir, 'MyViTs', { layer: null });
    expect([vit.layout, vit.layer, vit.shape, vit.models[0].classes]).toEqual(['classifier', null, null, targets(1)]);
  });
});

describe('Model-J errors name the problem', () => {
  it('a missing root, subset folder or split', () => {
    expect(() => modelJSamples(join(tmp, 'absent'), 'SupViT')).toThrow(/Model-J root .*absent does not exist/);
    expect(() => modelJSamples(cls, 'SD_1k')).toThrow(/Model-J subset "SD_1k": no folder .*classifiers\/SD_1k, and .*classifiers has no split folders/);
    mkdirSync(join(tmp, 'bare', 'SupViT'), { recursive: true });
    expect(() => modelJSamples(join(tmp, 'bare'), 'SupViT')).toThrow(/subset folder .*bare\/SupViT has no split folders \(train, val, test, val_holdout, test_holdout\)/);
    expect(() => modelJSamples(cls, 'SupViT', { splits: ['train', 'val_holdout'] })).toThrow(/no split folder .*SupViT\/val_holdout/);
  });

  it('no models, saying which layout and glob were searched', () => {
    mkdirSync(join(tmp, 'empty', 'SupViT', 'train', '.locks'), { recursive: true });
    expect(() => modelJSamples(join(tmp, 'empty'), 'SupViT')).toThrow(
      /no models found; searched .*empty\/SupViT\/train\/models--ProbeX--Model-J__SupViT__model_idx_\*\/snapshots\/\*\/model\.safetensors \(classifier layout\)/,
    );
    // DINO's repos under a SupViT folder are not SupViT's.
    hfModel(join(tmp, 'wrong', 'SupViT'), 'DINO', 'train', 0);
    expect(() => modelJSamples(join(tmp, 'wrong'), 'SupViT')).toThrow(/no models found; searched .*Model-J__SupViT__model_idx_\*/);
    mkdirSync(join(tmp, 'emptysd', 'SD_1k', 'train'), { recursive: true });
    mkdirSync(join(tmp, 'emptysd', 'SD_1k', 'val'), { recursive: true });
    expect(() => modelJSamples(join(tmp, 'emptysd'), 'SD_1k')).toThrow(/no models found; searched .*SD_1k\/\{train,val\}\/model_idx_\*\/pytorch_lora_weights\.safetensors \(LoRA layout\)/);
    mkdirSync(join(tmp, 'emptyx', 'Mine', 'train'), { recursive: true });
    expect(() => modelJSamples(join(tmp, 'emptyx'), 'Mine')).toThrow(/no models found; searched .*\(classifier layout\) and .*\(LoRA layout\)/);
  });

  it('an incomplete download', () => {
    const root = join(tmp, 'partial');
    hfModel(join(root, 'SupViT'), 'SupViT', 'train', 0);
    mkdirSync(join(root, 'SupViT', 'train', repoName('SupViT', 1), 'snapshots', 'abc'), { recursive: true });
    expect(() => modelJSamples(root, 'SupViT')).toThrow(new RegExp(`${repoName('SupViT', 1)}: no snapshots/<ref>/model.safetensors \\(an incomplete download\\?\\)`));
    loraModel(join(root, 'SD_200'), 'train', 0, loraMeta(0, 'train', 'n01440764'));
    mkdirSync(join(root, 'SD_200', 'train', 'model_idx_0001'));
    expect(() => modelJSamples(root, 'SD_200')).toThrow(/train\/model_idx_0001: no pytorch_lora_weights\.safetensors/);
  });

  it('a model file lacking the chosen layer, with the nearest layers it has', () => {
    const f = supvitFiles.get(3)!;
    const near = 'vit.encoder.layer.7.attention.output.dense.weight';
    let msg = '';
    try {
      modelJSamples(cls, 'SupViT', { layer: 'vit.encoder.layer.7.attention.output.dense' });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('no layer "vit.encoder.layer.7.attention.output.dense"');
    expect(msg).toMatch(/SupViT\/train\/models--ProbeX--Model-J__SupViT__model_idx_0000\/snapshots\/aaaa1111\/model\.safetensors/);
    expect(msg).toContain(`nearest: ${near}`);
    expect(() => modelJSamples(sdParent, 'SD_200', { layer: 'unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_q' })).toThrow(
      /model_idx_0000\/pytorch_lora_weights\.safetensors: no layer "unet\.mid_block.*attn2\.to_q\.lora" \(24 probeable layers; nearest: (unet\.\S+\.attn2\.to_q\.lora, ){3}/,
    );
    // readLayer itself (layers.ts) names the file and lists tensors it has.
    expect(() => readLayer(f, 'vit.encoder.layer.9.output.dense.weight')).toThrow(/model\.safetensors: no tensor "vit\.encoder\.layer\.9\.output\.dense\.weight" \(has classifier\.bias/);
  });

  it('a layer whose shape differs between models', () => {
    const root = join(tmp, 'mixed');
    hfModel(join(root, 'SupViT'), 'SupViT', 'train', 0);
    const wide = VIT.map(([n, s]): Spec => [n, n === DEFAULT_LAYERS.SupViT ? [D, 2 * D] : s]);
    hfModel(join(root, 'SupViT'), 'SupViT', 'val', 1, { specs: wide });
    expect(() => modelJSamples(root, 'SupViT')).toThrow(/model_idx_0001\/.*model\.safetensors: layer "vit\.encoder\.layer\.7\.attention\.output\.dense\.weight" is \[16, 32\], but \[16, 16\] in .*model_idx_0000/);
  });

  it('labels missing or unparseable, naming the file', () => {
    const root = join(tmp, 'badmeta');
    const noKey = { ...classifierMeta(0, 'train', 'SupViT') } as Record<string, string>;
    delete noKey.dataset_chosen_targets;
    hfModel(join(root, 'SupViT'), 'SupViT', 'train', 0, { meta: noKey });
    expect(() => modelJSamples(root, 'SupViT')).toThrow(/model_idx_0000\/snapshots\/.*\/model\.safetensors: no metadata "dataset_chosen_targets" \(the file's metadata has format, model_idx/);
    hfModel(join(root, 'DINO'), 'DINO', 'train', 0, { meta: classifierMeta(0, 'train', 'DINO', "['apple', 'bear'") });
    expect(() => modelJSamples(root, 'DINO')).toThrow(/model_idx_0000\/snapshots\/.*\/model\.safetensors: metadata "dataset_chosen_targets": not a Python list of strings \(unterminated list, no '\]'/);
    hfModel(join(root, 'MAE'), 'MAE', 'train', 0, { meta: classifierMeta(0, 'train', 'MAE', '[]') });
    expect(() => modelJSamples(root, 'MAE')).toThrow(/metadata "dataset_chosen_targets" is an empty list/);
    loraModel(join(root, 'SD_1k'), 'train', 0, { rank: '16' });
    expect(() => modelJSamples(root, 'SD_1k')).toThrow(/model_idx_0000\/pytorch_lora_weights\.safetensors: no metadata "imagenet_class_id" \(the file's metadata has rank\)/);
  });

  it('a WordNet id the class map lacks, naming the map and the id', () => {
    const partial = join(tmp, 'partial-map.json');
    writeFileSync(partial, JSON.stringify({ n01440764: ['tench', 'Tinca tinca'], n01443537: 'goldfish', n01484850: 'great white shark', n01494475: 'hammerhead' }));
    expect(() => modelJSamples(sdParent, 'SD_200', { classMap: partial })).toThrow(/partial-map\.json: class map has no WordNet id "n01491361" \(metadata "imagenet_class_id" of .*val_holdout\/model_idx_0001\/pytorch_lora_weights\.safetensors\)/);
  });

  it('a model index that appears in two splits', () => {
    const root = join(tmp, 'dup');
    loraModel(join(root, 'SD_200'), 'train', 3, loraMeta(3, 'train', 'n01440764'));
    loraModel(join(root, 'SD_200'), 'val', 3, loraMeta(3, 'val', 'n01440764'));
    expect(() => modelJSamples(root, 'SD_200')).toThrow(/model index 3 appears twice: .*train\/model_idx_0003.* and .*val\/model_idx_0003/);
  });
});
