// The zoo's tiny vision transformer, batched over a leading model axis: 28x28 drawings cut into 16 patches of 7x7,
// pre-norm blocks of multi-head self-attention and MLP, classified from the cls token; state-dict names as in timm.
import { Tensor, add, attention, concat, expand, gelu, keep, layerNorm, matmul, normal, parameter, permute, reshape, slice, tensor, tidy } from '../../../core/index.ts';
import { mixSeed } from '../../../datasets/split.ts';
import { stackedFrom, stackedUniform, type BatchedModel, type StateDict } from './batched.ts';

export interface VitShape {
  /** Token width D. */
  dim: number;
  /** Number of transformer blocks. */
  depth: number;
  /** Attention heads; dim must be a multiple. */
  heads: number;
  /** Hidden width of each block's MLP. */
  mlpDim: number;
  classes: number;
}

export const VIT_IMAGE = 28;
export const VIT_PATCH = 7;
/** Patches per image (4 x 4) and pixels per patch (7 x 7). */
export const VIT_PATCHES = (VIT_IMAGE / VIT_PATCH) ** 2;
export const VIT_PATCH_PIXELS = VIT_PATCH * VIT_PATCH;
/** Tokens per image: the cls token then the patches. */
export const VIT_TOKENS = VIT_PATCHES + 1;
/** LayerNorm epsilon (timm's ViT uses 1e-6). */
export const VIT_LN_EPS = 1e-6;
/** Standard deviation of the normal init of cls_token and pos_embed (timm's pos_embed std). */
export const VIT_EMBED_STD = 0.02;

type Init = { kind: 'uniform'; bound: number } | { kind: 'normal'; std: number } | { kind: 'fill'; value: number };

/** One single-model parameter: its name, shape and PyTorch-default init. */
export interface VitParam {
  name: string;
  shape: number[];
  init: Init;
}

function checkShape(s: VitShape): void {
  for (const [k, v] of Object.entries(s)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`vit: ${k} must be a positive integer, got ${v}`);
  }
  if (s.dim % s.heads !== 0) throw new Error(`vit: dim ${s.dim} is not a multiple of heads ${s.heads}`);
}

/** Every parameter of one model, in state-dict order. Linear weights are [out, in] with uniform +-1/sqrt(in) init
 * (weight and bias, as nn.Linear); LayerNorm weight 1, bias 0; cls_token [1, 1, D] and pos_embed [1, 17, D] normal
 * with std 0.02. */
export function vitParams(s: VitShape): VitParam[] {
  checkShape(s);
  const out: VitParam[] = [];
  const linear = (name: string, inF: number, outF: number): void => {
    const init: Init = { kind: 'uniform', bound: 1 / Math.sqrt(inF) };
    out.push({ name: `${name}.weight`, shape: [outF, inF], init }, { name: `${name}.bias`, shape: [outF], init });
  };
  const norm = (name: string): void => {
    out.push({ name: `${name}.weight`, shape: [s.dim], init: { kind: 'fill', value: 1 } });
    out.push({ name: `${name}.bias`, shape: [s.dim], init: { kind: 'fill', value: 0 } });
  };
  linear('patch_embed', VIT_PATCH_PIXELS, s.dim);
  out.push({ name: 'cls_token', shape: [1, 1, s.dim], init: { kind: 'normal', std: VIT_EMBED_STD } });
  out.push({ name: 'pos_embed', shape: [1, VIT_TOKENS, s.dim], init: { kind: 'normal', std: VIT_EMBED_STD } });
  for (let i = 0; i < s.depth; i++) {
    norm(`blocks.${i}.norm1`);
    linear(`blocks.${i}.attn.qkv`, s.dim, 3 * s.dim);
    linear(`blocks.${i}.attn.proj`, s.dim, s.dim);
    norm(`blocks.${i}.norm2`);
    linear(`blocks.${i}.mlp.fc1`, s.dim, s.mlpDim);
    linear(`blocks.${i}.mlp.fc2`, s.mlpDim, s.dim);
  }
  norm('norm');
  linear('head', s.dim, s.classes);
  return out;
}

/** A trainable [M, ...shape] tensor initialized per slot from seeds[m] alone. Built inside tidy() so that the
 * per-seed draws are freed once stacked. */
function stackedInit(p: VitParam, seeds: readonly number[]): Tensor {
  const init = p.init;
  if (init.kind === 'fill') {
    const size = p.shape.reduce((a, b) => a * b, 1);
    return stackedFrom({ shape: p.shape, data: new Float32Array(size).fill(init.value) }, seeds.length);
  }
  if (init.kind === 'uniform') return tidy(() => stackedUniform(p.shape, seeds, init.bound));
  const out = tidy(() => {
    const parts = seeds.map((seed) => reshape(normal(p.shape, seed, 0, init.std), [1, ...p.shape]));
    return parts.length === 1 ? parts[0] : concat(parts, 0);
  });
  return keep(parameter(out));
}

export class BatchedVit implements BatchedModel {
  readonly params = new Map<string, Tensor>();

  private constructor(
    readonly shape: VitShape,
    readonly count: number,
  ) {}

  /** Fresh models, each initialized from its own seed (parameter i from mixSeed(seed, i)). */
  static create(shape: VitShape, seeds: readonly number[]): BatchedVit {
    const m = new BatchedVit(shape, seeds.length);
    vitParams(shape).forEach((p, i) => m.params.set(p.name, stackedInit(p, seeds.map((seed) => mixSeed(seed, i)))));
    return m;
  }

  /** Fine-tunes of a base: everything but the head copied from it, a new head per model from its seed. */
  static fromBase(base: StateDict, shape: VitShape, seeds: readonly number[]): BatchedVit {
    const m = new BatchedVit(shape, seeds.length);
    vitParams(shape).forEach((p, i) => {
      if (p.name.startsWith('head.')) {
        m.params.set(p.name, stackedInit(p, seeds.map((seed) => mixSeed(seed, 1000 + i))));
        return;
      }
      const v = base.get(p.name);
      if (!v || v.shape.join() !== p.shape.join()) throw new Error(`zoo: base lacks ${p.name} [${p.shape}] (has [${v?.shape ?? 'nothing'}])`);
      m.params.set(p.name, stackedFrom(v, seeds.length));
    });
    return m;
  }

  /** Models rebuilt from their own state dicts (one per slot), e.g. to run saved models together. */
  static fromStates(states: readonly StateDict[], shape: VitShape): BatchedVit {
    const m = new BatchedVit(shape, states.length);
    for (const p of vitParams(shape)) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(size * states.length);
      states.forEach((st, k) => {
        const v = st.get(p.name);
        if (!v || v.shape.join() !== p.shape.join()) throw new Error(`zoo: state ${k} lacks ${p.name} [${p.shape}] (has [${v?.shape ?? 'nothing'}])`);
        data.set(v.data, k * size);
      });
      m.params.set(p.name, keep(parameter(tensor(data, [states.length, ...p.shape]))));
    }
    return m;
  }

  /** x: [M, B, 784] -> logits [M, B, classes]. */
  forward(x: Tensor): Tensor {
    const { dim: D, depth, heads: H } = this.shape;
    const [M, B] = x.shape;
    if (x.rank !== 3 || M !== this.count || x.shape[2] !== VIT_IMAGE * VIT_IMAGE) {
      throw new Error(`vit: expected input [${this.count}, B, ${VIT_IMAGE * VIT_IMAGE}], got [${x.shape}]`);
    }
    const g = VIT_IMAGE / VIT_PATCH;
    // [M, B, 28, 28] as [M, B, gr, r, gc, c] -> [M, B, gr, gc, r, c]: patches row-major, pixels row-major within each,
    // so patch_embed.weight [D, 49] is a Conv2d(1, D, 7, stride 7) weight [D, 1, 7, 7] flattened.
    const patches = reshape(permute(reshape(x, [M, B, g, VIT_PATCH, g, VIT_PATCH]), [0, 1, 2, 4, 3, 5]), [M, B, VIT_PATCHES, VIT_PATCH_PIXELS]);
    const emb = this.linear(patches, 'patch_embed');
    const cls = expand(reshape(this.p('cls_token'), [M, 1, 1, D]), [M, B, 1, D]);
    let h = add(concat([cls, emb], 2), reshape(this.p('pos_embed'), [M, 1, VIT_TOKENS, D]));
    for (let i = 0; i < depth; i++) {
      h = add(h, this.attention(this.layerNorm(h, `blocks.${i}.norm1`), `blocks.${i}.attn`, H));
      const f = this.linear(gelu(this.linear(this.layerNorm(h, `blocks.${i}.norm2`), `blocks.${i}.mlp.fc1`)), `blocks.${i}.mlp.fc2`);
      h = add(h, f);
    }
    const clsOut = reshape(slice(h, [0, 0, 0], [M, B, 1]), [M, B, D]);
    return this.linear(this.layerNorm(clsOut, 'norm'), 'head');
  }

  /** Multi-head self-attention of h [M, B, T, D]: softmax(q k^T / sqrt(dh)) v per head, then proj. The qkv
   * projection's output [M, B, T, 3D] is timm's [.., 3, H, dh] layout, which the fused op reads as it is. */
  private attention(h: Tensor, name: string, H: number): Tensor {
    return this.linear(attention(this.linear(h, `${name}.qkv`), H), `${name}.proj`);
  }

  /** LayerNorm over the last axis (biased variance, as nn.LayerNorm) with a per-model weight and bias [M, D]. */
  private layerNorm(h: Tensor, name: string): Tensor {
    return layerNorm(h, VIT_LN_EPS, { weight: this.p(`${name}.weight`), bias: this.p(`${name}.bias`) });
  }

  /** h [M, ..., in] -> [M, ..., out] with this model's [out, in] weight and [out] bias. */
  private linear(h: Tensor, name: string): Tensor {
    const w = this.p(`${name}.weight`);
    const b = this.p(`${name}.bias`);
    const [M, out, inF] = w.shape;
    const lead = h.shape.slice(1, -1);
    const flat = reshape(h, [M, -1, inF]);
    const y = matmul(flat, w, { transB: true, bias: b });
    return reshape(y, [M, ...lead, out]);
  }

  private p(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`vit: no parameter ${name}`);
    return t;
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}
