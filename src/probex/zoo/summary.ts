// What a zoo holds, from its manifest: per tree the base, the split counts (done / planned) and the fine-tunes'
// held-out accuracy against chance.
import { readManifest } from './manifest.ts';
import { classifierArch } from './models/registry.ts';

export interface TreeSummary {
  name: string;
  architecture: string;
  pretrain: string;
  baseAccuracy: number | null;
  counts: Record<string, { done: number; planned: number }>;
  accuracy: { mean: number; min: number; max: number } | null;
  /** Accuracy of guessing among a model's own classes. */
  chance: number;
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

export function summarizeZoo(zoo: string): ZooSummary {
  const m = readManifest(zoo);
  if (!m) throw new Error(`${zoo}: no zoo.json (build one with \`probex zoo build --out ${zoo}\`)`);
  const trees = Object.entries(m.trees).map(([name, t]): TreeSummary => {
    const counts: TreeSummary['counts'] = {};
    for (const [split, planned] of Object.entries(t.planned)) counts[split] = { done: 0, planned };
    for (const r of t.models) counts[r.split].done++;
    const acc = t.models.map((r) => r.accuracy);
    return {
      name,
      architecture: classifierArch(t.spec.arch).describe(t.spec.arch, t.spec.pool / 2),
      pretrain: `${t.spec.pretrain.source} (seed ${t.spec.pretrain.seed})`,
      baseAccuracy: t.base?.accuracy ?? null,
      counts,
      accuracy: acc.length ? { mean: acc.reduce((a, b) => a + b, 0) / acc.length, min: Math.min(...acc), max: Math.max(...acc) } : null,
      chance: 2 / t.spec.pool,
      trainSeconds: t.trainSeconds,
    };
  });
  return { zoo, preset: m.preset, status: m.status, trees, heldoutClasses: m.classSplit.heldout.length, seenClasses: m.classSplit.seen.length };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

export function formatSummary(s: ZooSummary): string {
  const lines = [`zoo ${s.zoo}: preset ${s.preset}, ${s.status}; ${s.seenClasses} seen + ${s.heldoutClasses} held-out fine-tuning classes`];
  lines.push('tree                  architecture          base (pretrain)            models (done/planned)            fine-tune accuracy (chance)');
  for (const t of s.trees) {
    const counts = Object.entries(t.counts).map(([k, v]) => `${k} ${v.done}/${v.planned}`).join(', ');
    const acc = t.accuracy ? `${pct(t.accuracy.mean)} [${pct(t.accuracy.min)}, ${pct(t.accuracy.max)}]` : '-';
    const base = t.baseAccuracy === null ? '-' : `${pct(t.baseAccuracy)} ${t.pretrain}`;
    lines.push(`${t.name.padEnd(22)}${t.architecture.padEnd(22)}${base.padEnd(27)}${counts.padEnd(33)}${acc} (${pct(t.chance)})`);
  }
  return lines.join('\n');
}
