// `probex eval`: every expert of a run scored on the test splits, the baselines and the shared ablation beside
// ProbeX, routing accuracy over the test models of all trees, and the results table (RUN/results.md and .json).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEngine } from './engine.ts';
import { writeFileAtomic } from '../node/files.ts';
import { evaluateRun } from '../probex/evaluate.ts';
import { aggregate, markdownTable, sweepTable } from '../probex/results.ts';
import { Router, routingAccuracy, type RoutingReport } from '../probex/routing/router.ts';
import { clusteringReport, type ClusteringReport } from '../probex/routing/cluster-report.ts';
import { readRun } from '../probex/run.ts';
import { bySplit } from '../probex/data/samples.ts';
import { SOURCE_OPTIONS, runSource, resolveText, resolveTrees } from './source.ts';

export async function evalCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...SOURCE_OPTIONS, run: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (!values.run) throw new Error('eval needs --run RUN (a folder made by `probex train`)');
  const run = readRun(values.run);
  const src = runSource(values, run);
  const { trees } = resolveTrees(src);
  const text = resolveText({ ...src, text: values.text ?? run.text?.file });
  const engine = await startEngine();
  const log = values.json ? (s: string) => process.stderr.write(`${s}\n`) : (s: string) => console.log(s);
  log(`adapter: ${engine.info.description}${engine.info.isSoftware ? ' [software adapter]' : ''}`);
  const rows = await evaluateRun({ run: values.run, trees, text, log });
  let routing: RoutingReport | null = null;
  let routingWithoutBases: RoutingReport | null = null;
  let clustering: ClusteringReport | null = null;
  if (trees.length > 1) {
    const tests = trees.flatMap((t) => bySplit(t, 'test', 'test_holdout'));
    routing = routingAccuracy(Router.fromTrees(trees), tests);
    log(`routing: ${(100 * routing.accuracy).toFixed(1)}% of ${routing.total} test models (${routing.by.signature} by layer names and shapes, ${routing.by.distance} by distance to the bases)`);
    // Bases unknown: distances to the mean of each tree's training models, and clustering with no reference at all.
    routingWithoutBases = routingAccuracy(Router.fromTrees(trees.map((t) => ({ ...t, base: null }))), tests);
    log(`routing without bases (train-model centroids): ${(100 * routingWithoutBases.accuracy).toFixed(1)}%`);
    clustering = clusteringReport(tests);
    log(`clustering the test models without bases: ${clustering.clusters} clusters for ${clustering.trees} trees, purity ${(100 * clustering.purity).toFixed(1)}%`);
  }
  const table = aggregate(rows);
  const md = [markdownTable(table, routing ?? undefined, routingWithoutBases ?? undefined, clustering ?? undefined), sweepTable(run.seeds[0]?.trees ?? [])].filter(Boolean).join('\n');
  const result = { run: values.run, adapter: engine.info, results: table, rows, routing, routingWithoutBases, clustering };
  writeFileAtomic(join(values.run, 'results.json'), JSON.stringify(result, null, 1));
  writeFileAtomic(join(values.run, 'results.md'), md);
  console.log(values.json ? JSON.stringify(result) : md);
  engine.destroy();
}
