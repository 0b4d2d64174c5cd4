// The results table: one row per (tree, method), each metric as mean +- std over model-split seeds, with parameter
// counts and training times; as JSON records and as markdown.
import { meanStd } from './metrics.ts';
import type { MetricRow } from './evaluate.ts';

export interface ResultRow {
  tree: string;
  method: string;
  /** The layer the experts read, or, where seeds differ (a sweep), each layer with its seeds: "a (seeds 0, 2); b (seed 1)". */
  layer: string;
  seeds: number;
  /** n: the seeds the metric was measured on, when fewer than `seeds` (a split too small for it in the others). */
  metrics: Record<string, { mean: number; std: number; n?: number }>;
  /** Parameters of one expert; where seeds' layers differ, the smallest, with `maxParameters` the largest. */
  parameters: number;
  maxParameters?: number;
  trainSeconds: { mean: number; std: number };
}

/** One layer name, or each layer with the seeds that read it. */
function layerCell(g: readonly MetricRow[]): string {
  const by = new Map<string, number[]>();
  for (const r of g) by.set(r.layer, [...(by.get(r.layer) ?? []), r.seed]);
  if (by.size === 1) return g[0].layer;
  return [...by].map(([l, seeds]) => `${l} (seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')})`).join('; ');
}

export function aggregate(rows: readonly MetricRow[]): ResultRow[] {
  const groups = new Map<string, MetricRow[]>();
  for (const r of rows) {
    const key = `${r.tree}\u0000${r.method}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const names = [...new Set(g.flatMap((r) => Object.keys(r.metrics)))];
    const metrics: ResultRow['metrics'] = {};
    for (const m of names) {
      const v = g.map((r) => r.metrics[m]).filter((x) => x !== undefined && Number.isFinite(x));
      if (v.length) {
        const s = meanStd(v);
        metrics[m] = v.length < g.length ? { mean: s.mean, std: s.std, n: v.length } : { mean: s.mean, std: s.std };
      }
    }
    const t = meanStd(g.map((r) => r.seconds));
    const [lo, hi] = [Math.min(...g.map((r) => r.parameters)), Math.max(...g.map((r) => r.parameters))];
    return { tree: g[0].tree, method: g[0].method, layer: layerCell(g), seeds: g.length, metrics, parameters: lo, ...(hi > lo ? { maxParameters: hi } : {}), trainSeconds: { mean: t.mean, std: t.std } };
  });
}

/** Metrics that are counts, not rates: shown as numbers of models. */
const COUNTS = new Set(['scored']);

/** mean ± std over the seeds that measured it; one seed has no spread to show. */
function cell(v: { mean: number; std: number; n?: number } | undefined, metric: string, seeds: number): string {
  if (!v) return '';
  const digits = COUNTS.has(metric) ? 1 : 3;
  const one = (v.n ?? seeds) === 1;
  const value = COUNTS.has(metric) && v.std === 0 ? String(v.mean) : one ? v.mean.toFixed(digits) : `${v.mean.toFixed(digits)} ± ${v.std.toFixed(digits)}`;
  return `${value}${v.n !== undefined ? ` (${v.n} seed${v.n === 1 ? '' : 's'})` : ''}`;
}

function fmtParams(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

/** One markdown table per metric family (classifier trees, single-class trees, text-aligned), rows by tree. */
export function markdownTable(rows: readonly ResultRow[]): string {
  const families: { title: string; metrics: string[]; test: (r: ResultRow) => boolean }[] = [
    { title: 'Fine-tuning classes (multi-label; per-label accuracy chance 0.5)', metrics: ['per_label_acc', 'mAP', 'topk_recovery', 'knn_per_label_acc'], test: (r) => 'per_label_acc' in r.metrics },
    { title: 'Class of single-class models (top-k among the seen classes)', metrics: ['scored', 'top1', 'top5', 'knn_top1'], test: (r) => 'top1' in r.metrics },
    { title: 'Text-aligned head (seen classes in-distribution; held-out classes zero-shot)', metrics: ['seen_top1', 'seen_t2m_mAP', 'zeroshot_top1', 'zeroshot_top5', 'zeroshot_t2m_recall@1', 'zeroshot_t2m_recall@5', 'zeroshot_t2m_mAP', 'chance_zeroshot_top1'], test: (r) => 'seen_top1' in r.metrics },
  ];
  const out: string[] = [];
  for (const f of families) {
    const rs = rows.filter(f.test);
    if (!rs.length) continue;
    const cols = f.metrics.filter((m) => rs.some((r) => m in r.metrics));
    out.push(`### ${f.title}`, '', `| tree | method | layer | ${cols.join(' | ')} | parameters | train s | seeds |`, `|${'---|'.repeat(cols.length + 6)}`);
    for (const r of [...rs].sort((a, b) => a.tree.localeCompare(b.tree) || a.method.localeCompare(b.method))) {
      const params = r.maxParameters ? `${fmtParams(r.parameters)}-${fmtParams(r.maxParameters)}` : fmtParams(r.parameters);
      out.push(`| ${r.tree} | ${r.method} | ${r.layer} | ${cols.map((m) => cell(r.metrics[m], m, r.seeds)).join(' | ')} | ${params} | ${r.trainSeconds.mean.toFixed(1)} | ${r.seeds} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** The per-layer sweep of each tree that had one (ProbeX's best validation score per layer), per model-split seed
 * (each seed picks its layer on its own validation models), as markdown. */
export function sweepTable(seeds: readonly { seed: number; trees: readonly { tree: string; layer: string; sweep?: { layer: string; shape: [number, number]; val: number; seconds: number }[] }[] }[]): string {
  const rows = seeds.flatMap((s) => s.trees.filter((t) => t.sweep?.length).flatMap((t) => t.sweep!.map((l) => ({ seed: s.seed, tree: t.tree, chosen: t.layer, ...l }))));
  if (!rows.length) return '';
  const out = ['### Layer sweep (ProbeX, best validation score per layer; * = chosen)', '', '| seed | tree | layer | shape | val | train s |', '|---|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.seed} | ${r.tree} | ${r.layer}${r.layer === r.chosen ? ' *' : ''} | ${r.shape.join(' x ')} | ${r.val.toFixed(3)} | ${r.seconds.toFixed(1)} |`);
  return out.join('\n') + '\n';
}
