// What a zoo holds, from its manifest: per tree the base, the split counts (done / planned) and how well the
// fine-tunes did on data they did not train on: classifier accuracy against chance, LoRA reconstruction error
// against the base's.
import { existsSync } from 'node:fs';
import { readJsonFile } from '../../node/files.ts';
import { join } from 'node:path';
import { notAZoo, readManifest } from './manifest.ts';
import { classifierArch } from './models/registry.ts';
import type { TreeSpec } from './presets.ts';

/** One layer's linear-probe signal, as `probex zoo summary --signal` (src/probex/signal.ts) writes it to signal.json. */
export interface LayerSignal {
  tree: string;
  layer: string;
  shape: number[];
  /** Entries of the layer the probe saw. */
  features: number;
  metric: 'per-label accuracy' | 'top-1 accuracy';
  value: number;
  chance: number;
}

export interface TreeSummary {
  name: string;
  kind: TreeSpec['kind'];
  architecture: string;
  pretrain: string;
  /** Classifier bases: held-out accuracy; LoRA base: held-out reconstruction MSE. */
  base: { accuracy?: number; loss?: number } | null;
  counts: Record<string, { done: number; planned: number }>;
  /** Classifier trees: held-out accuracy of the fine-tunes, and chance (guessing among a model's own classes). */
  accuracy?: { mean: number; min: number; max: number; chance: number };
  /** LoRA tree: held-out reconstruction MSE of the LoRAs, and of the base on the same drawings. */
  reconstruction?: { mean: number; baseMean: number; improved: number };
  /** Per-layer linear-probe signal, when `probex zoo summary --signal` has measured it. */
  signal?: LayerSignal[];
  trainSeconds: number;
}

export interface ZooSummary {
  zoo: string;
  preset: string;
  status: string;
  trees: TreeSummary[];
  heldoutClasses: number;
  seenClasses: number;
}

const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function architecture(spec: TreeSpec): string {
  if (spec.kind === 'classifier') return classifierArch(spec.arch).describe(spec.arch, spec.pool / 2);
  return `autoencoder 784-${spec.arch.hidden.join('-')}-784 + LoRA r${spec.rank}`;
}

export function summarizeZoo(zoo: string): ZooSummary {
  const m = readManifest(zoo);
  if (!m) throw notAZoo(zoo);
  const signalFile = join(zoo, 'signal.json');
  const signal: LayerSignal[] = existsSync(signalFile) ? readJsonFile<LayerSignal[]>(signalFile, null) : [];
  const trees = Object.entries(m.trees).map(([name, t]): TreeSummary => {
    const counts: TreeSummary['counts'] = {};
    for (const [split, planned] of Object.entries(t.planned)) counts[split] = { done: 0, planned };
    for (const r of t.models) counts[r.split].done++;
    const summary: TreeSummary = {
      name,
      kind: t.spec.kind,
      architecture: architecture(t.spec),
      pretrain: `${t.spec.pretrain.source} (seed ${t.spec.pretrain.seed})`,
      base: t.base ? { accuracy: t.base.accuracy, loss: t.base.loss } : null,
      counts,
      trainSeconds: t.trainSeconds,
    };
    const layers = signal.filter((l) => l.tree === name);
    if (layers.length) summary.signal = layers;
    if (t.models.length && t.spec.kind === 'classifier') {
      const acc = t.models.map((r) => r.accuracy ?? NaN);
      summary.accuracy = { mean: avg(acc), min: Math.min(...acc), max: Math.max(...acc), chance: 2 / t.spec.pool };
    }
    if (t.models.length && t.spec.kind === 'lora') {
      const loss = t.models.map((r) => r.loss ?? NaN);
      const base = t.models.map((r) => r.baseLoss ?? NaN);
      summary.reconstruction = { mean: avg(loss), baseMean: avg(base), improved: loss.filter((l, i) => l < base[i]).length / loss.length };
    }
    return summary;
  });
  return { zoo, preset: m.preset, status: m.status, trees, heldoutClasses: m.classSplit.heldout.length, seenClasses: m.classSplit.seen.length };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

export function formatSummary(s: ZooSummary): string {
  const lines = [`zoo ${s.zoo}: preset ${s.preset}, ${s.status}; class split ${s.seenClasses} seen + ${s.heldoutClasses} held-out fine-tuning classes (each tree draws its pool from these)`];
  const rows = s.trees.map((t) => {
    const counts = Object.entries(t.counts).map(([k, v]) => `${k} ${v.done}/${v.planned}`).join(', ');
    const base = !t.base ? '-' : t.base.accuracy !== undefined ? `${pct(t.base.accuracy)} acc, ${t.pretrain}` : `MSE ${t.base.loss?.toFixed(4)}, ${t.pretrain}`;
    const quality = t.accuracy
      ? `accuracy ${pct(t.accuracy.mean)} [${pct(t.accuracy.min)}, ${pct(t.accuracy.max)}], chance ${pct(t.accuracy.chance)}`
      : t.reconstruction
        ? `MSE ${t.reconstruction.mean.toFixed(4)} vs base ${t.reconstruction.baseMean.toFixed(4)} (${pct(t.reconstruction.improved)} of LoRAs beat the base)`
        : '-';
    const done = Object.values(t.counts).reduce((n, v) => n + v.done, 0);
    const speed = done && t.trainSeconds > 0 ? `${Math.round(t.trainSeconds)} s, ${(done / t.trainSeconds).toFixed(2)}/s` : '-';
    return [t.name, t.architecture, base, counts, speed, quality];
  });
  const header = ['tree', 'architecture', 'base (pretraining data)', 'models done/planned', 'fine-tune time', 'held-out quality'];
  // Columns as wide as their widest cell, two spaces apart.
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)) + 2);
  for (const r of [header, ...rows]) lines.push(r.map((v, c) => (c < r.length - 1 ? v.padEnd(widths[c]) : v)).join(''));
  const probed = s.trees.flatMap((t) => t.signal ?? []);
  if (probed.length) {
    lines.push('', 'per-layer signal (linear probe on the weights, test split):');
    for (const l of probed) {
      const flag = l.value < l.chance + 0.03 ? '  <- no signal' : l.value > 0.97 ? '  <- saturated' : '';
      lines.push(`  ${l.tree.padEnd(22)}${l.layer.padEnd(34)}[${l.shape.join('x')}]`.padEnd(70) + `${l.metric} ${pct(l.value)} (chance ${pct(l.chance)})${flag}`);
    }
  } else {
    lines.push('', 'per-layer signal: not measured yet (run `probex zoo summary DIR --signal`)');
  }
  return lines.join('\n');
}
