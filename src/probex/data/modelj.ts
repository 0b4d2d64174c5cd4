// Model-J as downloaded from Hugging Face (huggingface.co/ProbeX), read where it lies: the models of one subset, their
// splits and their labels (from each file's safetensors metadata, header only), and the layer ProbeX probes by
// default. Two layouts, one per kind of subset:
//
//  - classifier subsets (SupViT, DINO, MAE, ResNet), one Hugging Face cache per split, as the paper's download script
//    leaves them (`snapshot_download(repo, cache_dir=<root>/<Subset>/<split>)`):
//      <root>/<Subset>/<split>/models--ProbeX--Model-J__<Subset>__model_idx_<NNNN>/snapshots/<ref>/model.safetensors
//    labels: metadata `dataset_chosen_targets`, a Python-style list of the 50 CIFAR-100 class names it was tuned on.
//  - LoRA subsets (SD_200, SD_1k), one bundle repo per subset:
//      <root>/<split>/model_idx_<NNNN>/pytorch_lora_weights.safetensors
//    splits train, val, test, val_holdout, test_holdout; label: metadata `imagenet_class_id` (a WordNet id), named
//    through a user-supplied class map (see `readClassMap`).
//
// For either layout `<root>` may be the folder that holds `<Subset>/` or the subset's own folder (the one holding the
// split folders). Nothing but headers is read here; `readLayer` (layers.ts) later reads the chosen tensor by offset.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensorsFile, type SafetensorsFileReader } from '../../node/safetensors-file.ts';
import type { Split } from '../zoo/layout.ts';
import { LORA_SUFFIX, listLayers, matrixShape } from './layers.ts';
import { SPLITS, treeSamples, type ModelSample, type TreeSamples } from './samples.ts';

export type ModelJClassifierSubset = 'SupViT' | 'DINO' | 'MAE' | 'ResNet';
export type ModelJLoraSubset = 'SD_200' | 'SD_1k';
export type ModelJSubset = ModelJClassifierSubset | ModelJLoraSubset;
export type ModelJLayout = 'classifier' | 'lora';

export const MODELJ_SUBSETS: readonly ModelJSubset[] = ['SupViT', 'DINO', 'MAE', 'ResNet', 'SD_200', 'SD_1k'];

/** The paper README's best layer per subset (SupViT 59, DINO 59, MAE 64, ResNet 59, SD 46 in the sorted layer-name
 * lists of the released code), used when no layer is chosen. ResNet's is a 1x1 conv [256, 1024, 1, 1], viewed as
 * [256, 1024]; SD's is the LoRA pair of the cross-attention query of down_blocks.2 (X = up . down, 1280 x 1280). */
export const DEFAULT_LAYERS: Record<ModelJSubset, string> = {
  SupViT: 'vit.encoder.layer.7.attention.output.dense.weight',
  DINO: 'vit.encoder.layer.7.attention.output.dense.weight',
  MAE: 'vit.encoder.layer.8.attention.attention.value.weight',
  ResNet: 'resnet.encoder.stages.2.layers.19.layer.0.convolution.weight',
  SD_200: `unet.down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_q${LORA_SUFFIX}`,
  SD_1k: `unet.down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_q${LORA_SUFFIX}`,
};

/** Metadata keys holding the labels. */
export const CLASSIFIER_TARGETS_KEY = 'dataset_chosen_targets';
export const LORA_CLASS_KEY = 'imagenet_class_id';

const CLASSIFIER_FILE = 'model.safetensors';
const LORA_FILE = 'pytorch_lora_weights.safetensors';
const MODEL_DIR = /^model_idx_(\d+)$/;
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const classifierDir = (subset: string): RegExp => new RegExp(`^models--ProbeX--Model-J__${escapeRe(subset)}__model_idx_(\\d+)$`);

/** A known subset's canonical name (matched case-insensitively), or null. */
export function knownSubset(subset: string): ModelJSubset | null {
  return MODELJ_SUBSETS.find((s) => s.toLowerCase() === subset.toLowerCase()) ?? null;
}

/** The layout a subset's name implies: SD_* are LoRA bundles, the known classifier subsets HF caches; otherwise null. */
export function layoutOfSubset(subset: string): ModelJLayout | null {
  if (/^sd_/i.test(subset)) return 'lora';
  return knownSubset(subset) ? 'classifier' : null;
}

/** The layer to probe: `layer` if given, else the subset's default (an error for an unknown subset). For a LoRA
 * layout the name is normalized to the pair's `<prefix>.lora`: `<prefix>`, `<prefix>.lora.down.weight` and
 * `<prefix>.lora.up.weight` all mean the product up . down. */
export function modelJLayer(subset: string, layer?: string, layout: ModelJLayout | null = layoutOfSubset(subset)): string {
  const known = knownSubset(subset);
  const name = layer ?? (known ? DEFAULT_LAYERS[known] : null);
  if (name === null) throw new Error(`Model-J subset "${subset}" has no default layer (known subsets: ${MODELJ_SUBSETS.join(', ')}); choose one with --layer`);
  if (layout !== 'lora') return name;
  for (const end of ['.lora.down.weight', '.lora.up.weight', LORA_SUFFIX]) {
    if (name.endsWith(end)) return `${name.slice(0, -end.length)}${LORA_SUFFIX}`;
  }
  return `${name}${LORA_SUFFIX}`;
}

// ---------------------------------------------------------------------------------------------------------------------
// Labels

/** Parses a Python-style list of strings, as `str(list)` writes it: `['apple', 'aquarium_fish']`, double-quoted items
 * (`"it's"`, which Python uses for names with an apostrophe), backslash escapes, a trailing comma, any whitespace.
 * `where` names the source in errors. */
export function parsePythonStringList(text: string, where: string): string[] {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${where}: not a Python list of strings (${why} at character ${i}: ${JSON.stringify(text.slice(Math.max(0, i - 10), i + 20))})`);
  };
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const str = (): string => {
    if (text[i] === 'u' || text[i] === 'U') i++;
    const q = text[i];
    if (q !== "'" && q !== '"') return fail('expected a quoted string');
    i++;
    let out = '';
    while (i < text.length && text[i] !== q) {
      if (text[i] === '\n') fail('unterminated string');
      if (text[i] !== '\\') {
        out += text[i++];
        continue;
      }
      const c = text[i + 1];
      const hex = (n: number): string => {
        const h = text.slice(i + 2, i + 2 + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) fail('bad escape');
        i += 2 + n;
        return String.fromCodePoint(parseInt(h, 16));
      };
      const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r' };
      if (c === undefined) fail('unterminated string');
      else if (Object.hasOwn(simple, c)) {
        out += simple[c];
        i += 2;
      } else if (c === 'x') out += hex(2);
      else if (c === 'u') out += hex(4);
      else if (c === 'U') out += hex(8);
      else {
        out += `\\${c}`; // Python keeps an unknown escape as written
        i += 2;
      }
    }
    if (i >= text.length) fail('unterminated string');
    i++;
    return out;
  };
  ws();
  if (text[i] !== '[') fail("expected '['");
  i++;
  const items: string[] = [];
  ws();
  while (text[i] !== ']') {
    if (i >= text.length) fail("unterminated list, no ']'");
    items.push(str());
    ws();
    if (text[i] === ',') {
      i++;
      ws();
    } else if (text[i] !== ']') fail(i >= text.length ? "unterminated list, no ']'" : "expected ',' or ']'");
  }
  i++;
  ws();
  if (i < text.length) fail('unexpected text after the list');
  return items;
}

/** WordNet id -> class name. */
export type ClassMap = Map<string, string>;

const WNID = /^n\d{8}$/;

/** Parses a class map, either
 *  - JSON: `{"n01440764": "tench"}`, `{"n01440764": ["tench", "Tinca tinca"]}` (first name), or the Keras
 *    `imagenet_class_index.json` form `{"0": ["n01440764", "tench"]}`;
 *  - text, one class a line: `n01440764 tench` or `n01440764<TAB>tench, Tinca tinca` (the first name, before a comma;
 *    this is ImageNet's `LOC_synset_mapping.txt`). Blank lines and `#` comments are skipped.
 * A name is the first of its synonyms (before a comma) in both forms, trimmed. ImageNet names two synsets alike
 * (crane the bird and the machine, maillot twice): such names get their id, `crane (n02012849)`, so that two classes
 * never merge into one label. `where` names the file in errors. */
export function parseClassMap(text: string, where: string): ClassMap {
  const map: ClassMap = new Map();
  const add = (id: string, name: string, at: string): void => {
    if (!id || !name) throw new Error(`${where}: ${at}: empty WordNet id or class name`);
    const had = map.get(id);
    if (had !== undefined && had !== name) throw new Error(`${where}: ${at}: "${id}" is mapped twice ("${had}" and "${name}")`);
    map.set(id, name);
  };
  const body = text.replace(/^\uFEFF/, '');
  if (body.trimStart().startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (e) {
      throw new Error(`${where}: class map is not valid JSON (${e instanceof Error ? e.message : e})`);
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${where}: class map JSON must be an object`);
    for (const [key, value] of Object.entries(json)) {
      const names = typeof value === 'string' ? [value] : Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string') ? (value as string[]) : null;
      if (!names) throw new Error(`${where}: key "${key}": expected a class name or a list of names, got ${JSON.stringify(value)}`);
      // Keras' imagenet_class_index.json: {"<index>": [wnid, name]}.
      if (/^\d+$/.test(key) && names.length === 2 && WNID.test(names[0])) add(names[0], names[1].split(',')[0].trim(), `key "${key}"`);
      else add(key.trim(), names[0].split(',')[0].trim(), `key "${key}"`);
    }
  } else {
    body.split(/\r?\n/).forEach((raw, n) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const m = /^(\S+)\s+(.+)$/.exec(line);
      if (!m) throw new Error(`${where}: line ${n + 1}: expected "<wordnet id> <name>[, <synonym>...]", got ${JSON.stringify(line)}`);
      add(m[1], m[2].split(',')[0].trim(), `line ${n + 1}`);
    });
  }
  if (map.size === 0) throw new Error(`${where}: class map is empty`);
  const ids = new Map<string, string[]>();
  for (const [id, name] of map) ids.set(name, [...(ids.get(name) ?? []), id]);
  for (const [name, same] of ids) if (same.length > 1) for (const id of same) map.set(id, `${name} (${id})`);
  return map;
}

export function readClassMap(path: string): ClassMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read the class map (${e instanceof Error ? e.message : e})`);
  }
  return parseClassMap(text, path);
}

function metadataValue(f: SafetensorsFileReader, key: string): string {
  const v = f.metadata[key];
  if (v === undefined) {
    const keys = Object.keys(f.metadata);
    throw new Error(`${f.path}: no metadata "${key}" (the file's metadata has ${keys.length ? keys.join(', ') : 'no keys'})`);
  }
  return v;
}

function classifierClasses(f: SafetensorsFileReader): string[] {
  const classes = parsePythonStringList(metadataValue(f, CLASSIFIER_TARGETS_KEY), `${f.path}: metadata "${CLASSIFIER_TARGETS_KEY}"`);
  if (classes.length === 0) throw new Error(`${f.path}: metadata "${CLASSIFIER_TARGETS_KEY}" is an empty list`);
  return classes;
}

function loraClass(f: SafetensorsFileReader, map: ClassMap | null, mapPath: string | undefined): string {
  const id = metadataValue(f, LORA_CLASS_KEY).trim();
  if (!id) throw new Error(`${f.path}: metadata "${LORA_CLASS_KEY}" is empty`);
  if (!map) return id;
  const name = map.get(id);
  if (name === undefined) throw new Error(`${mapPath}: class map has no WordNet id "${id}" (metadata "${LORA_CLASS_KEY}" of ${f.path})`);
  return name;
}

// ---------------------------------------------------------------------------------------------------------------------
// Finding the files

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile(); // follows links: HF snapshots link to ../../blobs/<hash>
  } catch {
    return false;
  }
};

/** The model file inside one HF cache repo folder: `snapshots/<refs/main>/model.safetensors` when `refs/main` names a
 * snapshot that has it, else the snapshot sorted last among those that have it (several appear when a repo was
 * downloaded at more than one revision). */
export function snapshotFile(repoDir: string): string {
  const snaps = join(repoDir, 'snapshots');
  const refMain = join(repoDir, 'refs', 'main');
  if (isFile(refMain)) {
    const ref = readFileSync(refMain, 'utf8').trim();
    if (ref && !ref.includes('/') && isFile(join(snaps, ref, CLASSIFIER_FILE))) return join(snaps, ref, CLASSIFIER_FILE);
  }
  const refs = isDir(snaps) ? readdirSync(snaps).filter((r) => isFile(join(snaps, r, CLASSIFIER_FILE))).sort() : [];
  if (refs.length === 0) throw new Error(`${repoDir}: no snapshots/<ref>/${CLASSIFIER_FILE} (an incomplete download?)`);
  return join(snaps, refs[refs.length - 1], CLASSIFIER_FILE);
}

interface Found {
  index: number;
  split: Split;
  path: string;
}

function findModels(dir: string, subset: string, layout: ModelJLayout, splits: readonly Split[]): Found[] {
  const out: Found[] = [];
  const pattern = layout === 'classifier' ? classifierDir(subset) : MODEL_DIR;
  for (const split of splits) {
    const sd = join(dir, split);
    for (const name of readdirSync(sd).sort()) {
      const m = pattern.exec(name);
      if (!m || !isDir(join(sd, name))) continue;
      let path: string;
      if (layout === 'classifier') path = snapshotFile(join(sd, name));
      else {
        path = join(sd, name, LORA_FILE);
        if (!isFile(path)) throw new Error(`${join(sd, name)}: no ${LORA_FILE} (an incomplete download?)`);
      }
      out.push({ index: Number(m[1]), split, path });
    }
  }
  return out;
}

const searched = (dir: string, subset: string, layout: ModelJLayout, splits: readonly Split[]): string => {
  const s = splits.length === 1 ? splits[0] : `{${splits.join(',')}}`;
  return layout === 'classifier'
    ? `${join(dir, s, `models--ProbeX--Model-J__${subset}__model_idx_*`, 'snapshots', '*', CLASSIFIER_FILE)} (classifier layout)`
    : `${join(dir, s, 'model_idx_*', LORA_FILE)} (LoRA layout)`;
};

/** The layout found on disk under a subset folder, or null. */
function detectLayout(dir: string, subset: string, splits: readonly Split[]): ModelJLayout | null {
  for (const split of splits) {
    const names = readdirSync(join(dir, split));
    if (names.some((n) => classifierDir(subset).test(n))) return 'classifier';
    if (names.some((n) => MODEL_DIR.test(n))) return 'lora';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------------
// The subset

export interface ModelJOptions {
  /** Class-map file (JSON or text; see `parseClassMap`) naming LoRA subsets' WordNet ids. Without one the WordNet
   * id itself is the class name. Classifier subsets carry their names and ignore it. */
  classMap?: string;
  /** Splits to read (each must exist). Default: every one of train, val, test, val_holdout, test_holdout present. */
  splits?: readonly Split[];
  /** The layer to probe (a tensor name, or a LoRA pair as `<prefix>.lora`); default `DEFAULT_LAYERS[subset]`. Every
   * model's header is checked to hold it, with one shape. Pass null to check nothing (an unknown subset has no default). */
  layer?: string | null;
  /** The tree's base model file, if the caller has one (Model-J's bases are HF models not in the download). */
  base?: string | null;
}

export interface ModelJTree extends TreeSamples {
  layout: ModelJLayout;
  /** The subset folder: the one holding the split folders. */
  dir: string;
  /** The probed layer as `readLayer` names it (LoRA: `<prefix>.lora`), present in every model; null if unchecked. */
  layer: string | null;
  /** Its matrix shape [d_V, d_H] (a 4-D k x k conv: the paper's raw reshape [in k k, out]); null if unchecked. */
  shape: [number, number] | null;
}

/** Why a file lacks a layer, with the probeable layers nearest the name (by shared prefix and suffix) to choose from. */
function missingLayer(f: SafetensorsFileReader, layer: string): Error {
  const layers = listLayers(f).map((l) => l.name);
  const common = (a: string): number => {
    let p = 0;
    while (p < a.length && p < layer.length && a[p] === layer[p]) p++;
    let s = 0;
    while (s < a.length - p && s < layer.length - p && a[a.length - 1 - s] === layer[layer.length - 1 - s]) s++;
    return p + s;
  };
  const near = [...layers].sort((a, b) => common(b) - common(a) || (a < b ? -1 : a > b ? 1 : 0)).slice(0, 6);
  return new Error(`${f.path}: no layer "${layer}" (${layers.length} probeable layers; nearest: ${near.join(', ')}${layers.length > near.length ? ', ...' : ''})`);
}

function layerShape(f: SafetensorsFileReader, names: ReadonlySet<string>, layer: string): [number, number] {
  if (layer.endsWith(LORA_SUFFIX)) {
    const prefix = layer.slice(0, -LORA_SUFFIX.length);
    const down = `${prefix}.lora.down.weight`;
    const up = `${prefix}.lora.up.weight`;
    if (!names.has(down) || !names.has(up)) throw missingLayer(f, layer);
    const d = f.info(down).shape;
    const u = f.info(up).shape;
    if (d.length !== 2 || u.length !== 2 || u[1] !== d[0]) throw new Error(`${f.path}: LoRA "${layer}" has up [${u.join(', ')}] and down [${d.join(', ')}], which do not compose`);
    return [u[0], d[1]];
  }
  if (!names.has(layer)) throw missingLayer(f, layer);
  return matrixShape(f.info(layer).shape, `${f.path}: ${layer}`);
}

/** The models of one Model-J subset under `root` (see the file comment for the layouts), sorted by model index, as a
 * tree named after the subset. The layout comes from the subset's name (SD_* are LoRA bundles) or, for a name not
 * known, from what is on disk. Labels come from each file's metadata; nothing but headers is read. */
export function modelJSamples(root: string, subset: string, opts: ModelJOptions = {}): ModelJTree {
  const tree = knownSubset(subset) ?? subset;
  if (!isDir(root)) throw new Error(`Model-J root ${root} does not exist or is not a folder`);
  const hasSplits = (d: string): boolean => SPLITS.some((s) => isDir(join(d, s)));
  const candidates = [...new Set([join(root, tree), join(root, subset)])];
  const dir = candidates.find((d) => isDir(d) && hasSplits(d)) ?? (hasSplits(root) ? root : null);
  if (dir === null) {
    const where = candidates.find(isDir);
    throw new Error(
      where
        ? `Model-J subset folder ${where} has no split folders (${SPLITS.join(', ')})`
        : `Model-J subset "${tree}": no folder ${join(root, tree)}, and ${root} has no split folders (${SPLITS.join(', ')}) of its own`,
    );
  }
  let splits: readonly Split[];
  if (opts.splits) {
    const missing = opts.splits.filter((s) => !isDir(join(dir, s)));
    if (missing.length) throw new Error(`Model-J subset "${tree}": no split folder ${missing.map((s) => join(dir, s)).join(', ')}`);
    splits = opts.splits;
  } else splits = SPLITS.filter((s) => isDir(join(dir, s)));

  const layout = layoutOfSubset(tree) ?? detectLayout(dir, tree, splits);
  if (layout === null) {
    throw new Error(`Model-J subset "${tree}": no models found; searched ${searched(dir, tree, 'classifier', splits)} and ${searched(dir, tree, 'lora', splits)}`);
  }
  const found = findModels(dir, tree, layout, splits).sort((a, b) => a.index - b.index);
  if (found.length === 0) throw new Error(`Model-J subset "${tree}": no models found; searched ${searched(dir, tree, layout, splits)}`);
  for (let k = 1; k < found.length; k++) {
    if (found[k].index === found[k - 1].index) throw new Error(`Model-J subset "${tree}": model index ${found[k].index} appears twice: ${found[k - 1].path} and ${found[k].path}`);
  }

  const map = layout === 'lora' && opts.classMap !== undefined ? readClassMap(opts.classMap) : null;
  const layer = opts.layer === null ? null : modelJLayer(tree, opts.layer, layout);
  let shape: [number, number] | null = null;
  let shapeFrom = '';
  const models = found.map((m): ModelSample => {
    const f = readSafetensorsFile(m.path);
    try {
      const classes = layout === 'classifier' ? classifierClasses(f) : [loraClass(f, map, opts.classMap)];
      if (layer !== null) {
        const s = layerShape(f, new Set(f.names()), layer);
        if (shape === null) {
          shape = s;
          shapeFrom = m.path;
        } else if (s[0] !== shape[0] || s[1] !== shape[1]) {
          throw new Error(`${m.path}: layer "${layer}" is [${s.join(', ')}], but [${shape.join(', ')}] in ${shapeFrom}`);
        }
      }
      return { id: `model_idx_${String(m.index).padStart(4, '0')}`, tree, split: m.split, classes, path: m.path };
    } finally {
      f.close();
    }
  });
  return { ...treeSamples(tree, models, opts.base ?? null), layout, dir, layer, shape };
}
