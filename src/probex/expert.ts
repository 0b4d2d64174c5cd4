// An expert: one method's encoder for one tree and layer, with its head (fine-tuning classes, or text-aligned),
// the label space it was trained on, and checkpoints as safetensors with the whole config in the metadata.
import { Module, engine, tensorsToSafetensors, decodeSafetensors, type Tensor } from '../core/index.ts';
import { ClassHead, TextHead } from './heads.ts';
import { Dense } from './methods/dense.ts';
import type { EncoderConfig, WeightEncoder } from './methods/encoder.ts';
import { ProbeX } from './methods/probex.ts';
import { StatNN } from './methods/statnn.ts';

export type Method = 'probex' | 'dense' | 'dense-z' | 'statnn';
export const METHODS: readonly Method[] = ['probex', 'dense', 'dense-z', 'statnn'];
export type HeadKind = 'classes' | 'text';

export interface ExpertSpec {
  method: Method;
  head: HeadKind;
  /** 'multi-label' (BCE over the label space) or 'single' (cross-entropy); the text head is always single. */
  task: 'multi-label' | 'single';
  tree: string;
  layer: string;
  /** The label space of the head: the tree's training classes. */
  labels: string[];
  encoder: EncoderConfig;
  /** Text head: the text embedding size and the encoder that made the embeddings. */
  textDim?: number;
  textEncoder?: string;
  learnScale?: boolean;
  seed: number;
}

export const CHECKPOINT_FORMAT = 'probex-expert/1';

function num(cfg: EncoderConfig, key: string): number {
  const v = cfg[key];
  if (typeof v !== 'number') throw new Error(`expert config: "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function buildEncoder(method: Method, cfg: EncoderConfig): WeightEncoder {
  const seed = num(cfg, 'seed');
  switch (method) {
    case 'probex':
      return new ProbeX({ rows: num(cfg, 'rows'), cols: num(cfg, 'cols'), probes: num(cfg, 'probes'), proj: num(cfg, 'proj'), rep: num(cfg, 'rep'), seed });
    case 'dense':
    case 'dense-z':
      return new Dense({ rows: num(cfg, 'rows'), cols: num(cfg, 'cols'), out: num(cfg, 'out'), seed, zscore: method === 'dense-z' });
    case 'statnn':
      return new StatNN({ features: num(cfg, 'features'), hidden: num(cfg, 'hidden'), out: num(cfg, 'out'), seed });
    default:
      throw new Error(`unknown method "${String(method)}" (choose ${METHODS.join(', ')})`);
  }
}

export class Expert extends Module {
  readonly encoder: WeightEncoder;
  readonly classHead: ClassHead | null;
  readonly textHead: TextHead | null;

  constructor(readonly spec: ExpertSpec) {
    super();
    this.encoder = buildEncoder(spec.method, spec.encoder);
    if (spec.head === 'classes') {
      // The Dense expert maps the layer straight to the classes (y_k = sum_ij W_ijk X_ij), as in the paper.
      const direct = this.encoder.outDim === spec.labels.length && spec.method.startsWith('dense');
      this.classHead = new ClassHead({ in: this.encoder.outDim, classes: spec.labels.length, kind: direct ? 'none' : 'linear', seed: spec.seed * 8 + 5 });
      this.textHead = null;
    } else {
      if (!spec.textDim) throw new Error('expert: a text head needs textDim');
      this.classHead = null;
      this.textHead = new TextHead({ textDim: spec.textDim, rep: this.encoder.outDim, learnScale: spec.learnScale ?? false, initScale: 10, seed: spec.seed * 8 + 6 });
    }
  }

  /** Every tensor a checkpoint holds: the parameters, and the Dense baseline's z-score statistics. */
  stateTensors(): [string, Tensor][] {
    const out = this.namedParameters();
    if (this.encoder instanceof Dense) {
      const s = this.encoder.stats();
      if (s) out.push(['encoder.zMean', s.mean], ['encoder.zInv', s.inv]);
    }
    return out;
  }

  async save(): Promise<Uint8Array> {
    return tensorsToSafetensors(this.stateTensors(), {
      format: CHECKPOINT_FORMAT,
      spec: JSON.stringify(this.spec),
      parameters: String(this.parameterCount()),
    });
  }

  /** Host copies of every state tensor (to keep the best epoch). */
  async snapshot(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, t] of this.stateTensors()) out.set(name, Float32Array.from((await t.data()) as Float32Array));
    return out;
  }

  restore(state: Map<string, Float32Array>, where = 'snapshot'): void {
    const tensors = this.stateTensors();
    for (const [name, t] of tensors) {
      const v = state.get(name);
      if (!v) throw new Error(`${where}: lacks "${name}"`);
      if (v.length !== t.size) throw new Error(`${where}: "${name}" has ${v.length} values, the expert needs ${t.size}`);
    }
    for (const [name, t] of tensors) engine().upload(t.buffer, state.get(name)!);
  }

  static load(bytes: Uint8Array, where: string): Expert {
    const { tensors, metadata } = decodeSafetensors(bytes);
    if (metadata.format !== CHECKPOINT_FORMAT) throw new Error(`${where}: not a ProbeX expert checkpoint (format ${JSON.stringify(metadata.format)})`);
    let spec: ExpertSpec;
    try {
      spec = JSON.parse(metadata.spec) as ExpertSpec;
    } catch (e) {
      throw new Error(`${where}: the expert spec in the metadata is not valid JSON (${e instanceof Error ? e.message : e})`);
    }
    const expert = new Expert(spec);
    if (expert.encoder instanceof Dense && spec.method === 'dense-z') {
      const mean = tensors.get('encoder.zMean');
      const inv = tensors.get('encoder.zInv');
      if (!mean || !inv) throw new Error(`${where}: a dense-z checkpoint without its z-score statistics`);
      const m = new Float32Array(mean.bytes.slice().buffer);
      const i = new Float32Array(inv.bytes.slice().buffer);
      expert.encoder.setStats({ mean: m, std: i.map((v) => 1 / v - 1e-8) });
    }
    const state = new Map<string, Float32Array>();
    for (const [name, t] of tensors) {
      if (t.dtype !== 'F32') throw new Error(`${where}: "${name}" is ${t.dtype}, expected F32`);
      state.set(name, new Float32Array(t.bytes.slice().buffer));
    }
    expert.restore(state, where);
    return expert;
  }

  override dispose(): void {
    this.encoder.dispose();
    this.classHead?.dispose();
    this.textHead?.dispose();
  }
}
