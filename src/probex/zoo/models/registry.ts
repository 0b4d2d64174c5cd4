// The classifier architectures a zoo tree can use, behind one interface: create fresh batched models (for a base)
// or fine-tunes of a base (hidden layers copied, new head per model). A new architecture registers here.
import { BatchedMlp } from './mlp.ts';
import { BatchedVit, type VitShape } from './vit.ts';
import type { BatchedModel, StateDict } from './batched.ts';

export type ArchSpec =
  | { kind: 'mlp'; hidden: number[] }
  /** A tiny ViT on 7x7 patches: token width, blocks, attention heads, MLP hidden width. */
  | { kind: 'vit'; dim: number; depth: number; heads: number; mlpDim: number };

export interface ClassifierArch {
  /** Short human description, e.g. "mlp 784-256-256-50". */
  describe(spec: ArchSpec, classes: number): string;
  create(spec: ArchSpec, classes: number, seeds: readonly number[]): BatchedModel;
  fromBase(spec: ArchSpec, base: StateDict, classes: number, seeds: readonly number[]): BatchedModel;
}

const INPUTS = 784;

type Spec<K extends ArchSpec['kind']> = Extract<ArchSpec, { kind: K }>;

/** The spec as its own kind (the registry looks architectures up by kind, so a mismatch is a programming error). */
function specOf<K extends ArchSpec['kind']>(s: ArchSpec, kind: K): Spec<K> {
  if (s.kind !== kind) throw new Error(`zoo: a ${s.kind} spec given to the ${kind} architecture`);
  return s as Spec<K>;
}

const mlp: ClassifierArch = {
  describe: (a, classes) => `mlp ${[INPUTS, ...specOf(a, 'mlp').hidden, classes].join('-')}`,
  create: (a, classes, seeds) => BatchedMlp.create({ inputs: INPUTS, hidden: specOf(a, 'mlp').hidden, classes }, seeds),
  fromBase: (a, base, classes, seeds) => BatchedMlp.fromBase(base, { inputs: INPUTS, hidden: specOf(a, 'mlp').hidden, classes }, seeds),
};

function vitShape(a: ArchSpec, classes: number): VitShape {
  const s = specOf(a, 'vit');
  return { dim: s.dim, depth: s.depth, heads: s.heads, mlpDim: s.mlpDim, classes };
}

const vit: ClassifierArch = {
  describe: (a, classes) => {
    const s = specOf(a, 'vit');
    // 7x7 patches, token width d, L blocks, h heads, MLP width, classes.
    return `vit 7x7 d${s.dim} L${s.depth} h${s.heads} mlp${s.mlpDim} -> ${classes}`;
  },
  create: (a, classes, seeds) => BatchedVit.create(vitShape(a, classes), seeds),
  fromBase: (a, base, classes, seeds) => BatchedVit.fromBase(base, vitShape(a, classes), seeds),
};

const ARCHS: Record<ArchSpec['kind'], ClassifierArch> = { mlp, vit };

export function classifierArch(spec: ArchSpec): ClassifierArch {
  const a = ARCHS[spec.kind];
  if (!a) throw new Error(`zoo: unknown architecture "${(spec as { kind: string }).kind}"`);
  return a;
}
