// The classifier architectures a zoo tree can use, behind one interface: create fresh batched models (for a base)
// or fine-tunes of a base (hidden layers copied, new head per model). A new architecture registers here.
import { BatchedMlp } from './mlp.ts';
import type { BatchedModel, StateDict } from './batched.ts';

export type ArchSpec = { kind: 'mlp'; hidden: number[] };

export interface ClassifierArch {
  /** Short human description, e.g. "mlp 784-256-256-50". */
  describe(spec: ArchSpec, classes: number): string;
  create(spec: ArchSpec, classes: number, seeds: readonly number[]): BatchedModel;
  fromBase(spec: ArchSpec, base: StateDict, classes: number, seeds: readonly number[]): BatchedModel;
}

const INPUTS = 784;

const mlp: ClassifierArch = {
  describe: (s, classes) => `mlp ${[INPUTS, ...s.hidden, classes].join('-')}`,
  create: (s, classes, seeds) => BatchedMlp.create({ inputs: INPUTS, hidden: s.hidden, classes }, seeds),
  fromBase: (s, base, classes, seeds) => BatchedMlp.fromBase(base, { inputs: INPUTS, hidden: s.hidden, classes }, seeds),
};

const ARCHS: Record<ArchSpec['kind'], ClassifierArch> = { mlp };

export function classifierArch(spec: ArchSpec): ClassifierArch {
  const a = ARCHS[spec.kind];
  if (!a) throw new Error(`zoo: unknown architecture "${(spec as { kind: string }).kind}"`);
  return a;
}
