// Where a CLI command's models come from (a zoo built here, or Model-J folders), the text embeddings that go with
// them, and the option parsing every expert command shares.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { zooSamples, type TreeSamples } from '../probex/data/samples.ts';
import { modelJSamples } from '../probex/data/modelj.ts';
import { textEmbeddingsPath } from '../probex/text/class-embeddings.ts';
import { loadClassEmbeddings } from '../probex/text/precomputed.ts';
import { USE_LITE_NAME } from '../probex/text/use-lite.ts';
import type { ClassText } from '../probex/train.ts';
import type { RunManifest } from '../probex/run.ts';

export interface SourceArgs {
  zoo?: string;
  modelj?: string;
  subset?: string;
  layer?: string;
  'class-map'?: string;
  text?: string;
  trees?: string;
}

export const SOURCE_OPTIONS = {
  zoo: { type: 'string' },
  modelj: { type: 'string' },
  subset: { type: 'string' },
  layer: { type: 'string' },
  'class-map': { type: 'string' },
  text: { type: 'string' },
  trees: { type: 'string' },
} as const;

export function resolveTrees(a: SourceArgs): { trees: TreeSamples[]; source: RunManifest['source']; layer?: string } {
  if (a.zoo && a.modelj) throw new Error('give either --zoo or --modelj, not both');
  if (a.modelj) {
    if (!a.subset) throw new Error('--modelj needs --subset (SupViT, DINO, MAE, ResNet, SD_200 or SD_1k)');
    const t = modelJSamples(a.modelj, a.subset, { layer: a.layer, classMap: a['class-map'] });
    // run.json records absolute paths, so that a run works from any folder.
    const classMap = a['class-map'] === undefined ? undefined : resolve(a['class-map']);
    return { trees: [t], source: { modelj: { root: resolve(a.modelj), subset: a.subset, classMap, layer: t.layer ?? undefined } }, layer: t.layer ?? undefined };
  }
  if (!a.zoo) throw new Error('name the models with --zoo DIR or --modelj DIR --subset NAME');
  return { trees: zooSamples(a.zoo, a.trees?.split(',')), source: { zoo: resolve(a.zoo) }, layer: a.layer };
}

/** --text FILE, else the zoo's USE-lite embeddings when it has them; null when there are none. */
export function resolveText(a: SourceArgs): (ClassText & { file: string }) | null {
  const file = a.text ?? (a.zoo ? textEmbeddingsPath(a.zoo, USE_LITE_NAME) : undefined);
  if (!file || (!a.text && !existsSync(file))) return null;
  const e = loadClassEmbeddings(file);
  return { encoder: e.encoder, dim: e.dim, classes: e.classes, data: e.data, file: resolve(file) };
}

/** The command's own source options, else the ones the run was trained with (run.json in `runDir`); a recorded
 * folder that is gone (moved, or recorded relative to another folder by an older version) is an error that says
 * which option names the new place. */
export function runSource(a: SourceArgs, run: RunManifest, runDir: string): SourceArgs {
  // The trees the run trained, unless the command names others.
  const trees = a.trees ?? (run.source.zoo ? [...new Set(run.seeds.flatMap((s) => s.trees.map((t) => t.tree)))].join(',') || undefined : undefined);
  // Text embeddings: --text, else those of a zoo the command names, else those the run trained with.
  const text = a.text ?? (a.zoo ? undefined : run.text?.file);
  if (text && !a.text && !existsSync(text)) throw new Error(`the run's text embeddings ${text} (recorded in ${runDir}/run.json) are not there; pass --text FILE (or --zoo DIR for that zoo's)`);
  if (a.zoo || a.modelj) return { ...a, trees, text };
  const m = run.source.modelj;
  const gone = run.source.zoo ?? m?.root;
  if (gone && !existsSync(gone)) throw new Error(`the run's ${run.source.zoo ? 'zoo' : 'Model-J folder'} ${gone} (recorded in ${runDir}/run.json) is not there; pass ${run.source.zoo ? '--zoo DIR' : '--modelj DIR'}`);
  return { ...a, trees, text, zoo: run.source.zoo, modelj: m?.root, subset: m?.subset, 'class-map': a['class-map'] ?? m?.classMap, layer: a.layer ?? m?.layer };
}

export function positiveNumber(name: string, v: string | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n)))) throw new Error(`--${name} must be a positive ${integer ? 'whole ' : ''}number, got "${v}"`);
  return n;
}
