// How well clustering without bases recovers the trees: purity (each cluster counted as its majority tree) and the
// number of clusters found against the number of trees.
import type { ModelSample } from '../data/samples.ts';
import { clusterByDistance } from './cluster.ts';

export interface ClusteringReport {
  models: number;
  trees: number;
  clusters: number;
  /** Fraction of models whose cluster's majority tree is their own (1: every cluster lies within one tree). */
  purity: number;
  /** Fraction of trees split over more than one cluster. */
  splitTrees: number;
}

export function clusteringReport(samples: readonly ModelSample[]): ClusteringReport {
  if (samples.length === 0) throw new Error('clustering: no models');
  const { labels } = clusterByDistance(samples.map((s) => s.path));
  const byCluster = new Map<number, Map<string, number>>();
  const clustersOfTree = new Map<string, Set<number>>();
  samples.forEach((s, i) => {
    const m = byCluster.get(labels[i]) ?? new Map<string, number>();
    m.set(s.tree, (m.get(s.tree) ?? 0) + 1);
    byCluster.set(labels[i], m);
    clustersOfTree.set(s.tree, (clustersOfTree.get(s.tree) ?? new Set()).add(labels[i]));
  });
  const majority = [...byCluster.values()].reduce((n, m) => n + Math.max(...m.values()), 0);
  const trees = clustersOfTree.size;
  return {
    models: samples.length,
    trees,
    clusters: byCluster.size,
    purity: majority / samples.length,
    splitTrees: [...clustersOfTree.values()].filter((c) => c.size > 1).length / trees,
  };
}
