// Routing over the test models of a set of trees, three ways: with each tree's base (the router as deployed),
// without bases (distance to the train-model centroids), and by clustering with no reference at all. What
// `probex eval` puts under its table and `probex route` reports on its own.
import { bySplit, type TreeSamples } from '../data/samples.ts';
import { clusteringReport, type ClusteringReport } from './cluster-report.ts';
import { Router, routingAccuracy, type RoutingReport } from './router.ts';

export interface TestRouting {
  routing: RoutingReport;
  withoutBases: RoutingReport;
  clustering: ClusteringReport;
}

export function routeTestModels(trees: readonly TreeSamples[]): TestRouting {
  if (trees.length < 2) throw new Error(`routing needs at least two trees, got ${trees.length}`);
  const tests = trees.flatMap((t) => bySplit(t, 'test', 'test_holdout'));
  if (tests.length === 0) throw new Error(`routing: the trees ${trees.map((t) => t.tree).join(', ')} have no test models`);
  return {
    routing: routingAccuracy(Router.fromTrees(trees), tests),
    withoutBases: routingAccuracy(Router.fromTrees(trees.map((t) => ({ ...t, base: null }))), tests),
    clustering: clusteringReport(tests),
  };
}

/** Markdown: one sentence per way of routing, and the confusion of the routed models where any went astray. */
export function routingMarkdown(r: TestRouting): string {
  const out = [
    `Routing: ${(100 * r.routing.accuracy).toFixed(1)}% of ${r.routing.total} test models sent to their tree (${r.routing.by.signature} by layer names and shapes, ${r.routing.by.distance} by distance to each tree's base).`,
    '',
    `Routing without bases (distance to the mean of each tree's training models): ${(100 * r.withoutBases.accuracy).toFixed(1)}%.`,
    '',
    `Clustering the ${r.clustering.models} test models with no reference: ${r.clustering.clusters} clusters for ${r.clustering.trees} trees, purity ${(100 * r.clustering.purity).toFixed(1)}%, ${(100 * r.clustering.splitTrees).toFixed(0)}% of trees split.`,
    '',
  ];
  const astray = Object.entries(r.routing.confusion).flatMap(([tree, row]) => Object.entries(row).filter(([p]) => p !== tree).map(([p, n]) => `${n} of ${tree} -> ${p}`));
  if (astray.length) out.push(`Misrouted (with bases): ${astray.join('; ')}.`, '');
  return out.join('\n');
}
