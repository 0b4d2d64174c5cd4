// The LoRA tree's models: a small MLP autoencoder (784 -> hidden... -> 784, ReLU inside, sigmoid out) as the base,
// and batched rank-r LoRA adapters on each of its linear layers: W' = W + (alpha / r) up . down, with `up` starting
// at zero so every adapter starts as the base (as in PEFT). Adapter names: <layer>.lora.down.weight [r, in] and
// <layer>.lora.up.weight [out, r]; the base's layers are layers.<i>.weight/bias.
import { Tensor, add, matmul, mul, relu, sigmoid, tensor } from '../../../core/index.ts';
import { mixSeed } from '../../../datasets/split.ts';
import { stackedUniform, type BatchedModel, type StateDict } from './batched.ts';

export interface AutoencoderShape {
  inputs: number;
  /** Widths of the hidden layers, e.g. [256, 64, 256]. */
  hidden: number[];
}

export function autoencoderLayers(s: AutoencoderShape): [number, number][] {
  const dims = [s.inputs, ...s.hidden, s.inputs];
  return dims.slice(1).map((out, i) => [out, dims[i]]);
}

function forwardLayers(x: Tensor, count: number, layer: (h: Tensor, i: number) => Tensor): Tensor {
  let h = x;
  for (let i = 0; i < count; i++) {
    const z = layer(h, i);
    h = i === count - 1 ? sigmoid(z) : relu(z);
  }
  return h;
}

/** Fresh autoencoders (for pretraining a base), initialized like PyTorch's Linear default. */
export class BatchedAutoencoder implements BatchedModel {
  readonly params = new Map<string, Tensor>();
  readonly count: number;

  constructor(
    readonly shape: AutoencoderShape,
    seeds: readonly number[],
  ) {
    this.count = seeds.length;
    autoencoderLayers(shape).forEach(([out, inp], i) => {
      const bound = 1 / Math.sqrt(inp);
      this.params.set(`layers.${i}.weight`, stackedUniform([out, inp], seeds.map((s) => mixSeed(s, 2 * i)), bound));
      this.params.set(`layers.${i}.bias`, stackedUniform([out], seeds.map((s) => mixSeed(s, 2 * i + 1)), bound));
    });
  }

  forward(x: Tensor): Tensor {
    return forwardLayers(x, autoencoderLayers(this.shape).length, (h, i) => {
      const w = this.params.get(`layers.${i}.weight`)!;
      const b = this.params.get(`layers.${i}.bias`)!;
      return matmul(h, w, { transB: true, bias: b });
    });
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}

/** M LoRA adapters on one frozen base autoencoder; only the adapters are parameters. */
export class BatchedLora implements BatchedModel {
  readonly params = new Map<string, Tensor>();
  private readonly base: { w: Tensor; b: Tensor }[] = [];
  readonly count: number;

  constructor(
    readonly shape: AutoencoderShape,
    base: StateDict,
    readonly rank: number,
    readonly alpha: number,
    seeds: readonly number[],
  ) {
    this.count = seeds.length;
    autoencoderLayers(shape).forEach(([out, inp], i) => {
      const w = base.get(`layers.${i}.weight`);
      const b = base.get(`layers.${i}.bias`);
      if (!w || !b || w.shape.join() !== `${out},${inp}`) throw new Error(`zoo: base autoencoder lacks layers.${i} [${out}, ${inp}]`);
      this.base.push({ w: tensor(w.data, w.shape), b: tensor(b.data, [out]) });
      this.params.set(`layers.${i}.lora.down.weight`, stackedUniform([rank, inp], seeds.map((s) => mixSeed(s, 100 + i)), 1 / Math.sqrt(inp)));
      this.params.set(`layers.${i}.lora.up.weight`, stackedUniform([out, rank], seeds, 0));
    });
  }

  forward(x: Tensor): Tensor {
    const scale = this.alpha / this.rank;
    return forwardLayers(x, this.base.length, (h, i) => {
      const { w, b } = this.base[i];
      const down = this.params.get(`layers.${i}.lora.down.weight`)!;
      const up = this.params.get(`layers.${i}.lora.up.weight`)!;
      const frozen = matmul(h, w, { transB: true, bias: b });
      const adapted = matmul(matmul(h, down, { transB: true }), up, { transB: true });
      return add(frozen, mul(adapted, scale));
    });
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    for (const { w, b } of this.base) {
      w.dispose();
      b.dispose();
    }
  }
}
