// The zoo's MLP classifier, batched: 784 -> hidden... -> classes with ReLU, Linear layers stored [out, in] as in
// PyTorch, under the names layers.<i>.weight/bias and head.weight/bias.
import { Tensor, matmul, relu } from '../../../core/index.ts';
import { mixSeed } from '../../../datasets/split.ts';
import { stackedFrom, stackedUniform, type BatchedModel, type StateDict } from './batched.ts';

export interface MlpShape {
  inputs: number;
  hidden: number[];
  classes: number;
}

export function mlpParamShapes(s: MlpShape): [string, number[]][] {
  const dims = [s.inputs, ...s.hidden];
  const out: [string, number[]][] = [];
  for (let i = 0; i < s.hidden.length; i++) {
    out.push([`layers.${i}.weight`, [dims[i + 1], dims[i]]], [`layers.${i}.bias`, [dims[i + 1]]]);
  }
  out.push(['head.weight', [s.classes, dims[dims.length - 1]]], ['head.bias', [s.classes]]);
  return out;
}

export class BatchedMlp implements BatchedModel {
  readonly params = new Map<string, Tensor>();

  private constructor(
    readonly shape: MlpShape,
    readonly count: number,
  ) {}

  /** Fresh models, initialized like PyTorch's Linear default from each model's own seed. */
  static create(shape: MlpShape, seeds: readonly number[]): BatchedMlp {
    const m = new BatchedMlp(shape, seeds.length);
    mlpParamShapes(shape).forEach(([name, s], i) => {
      const fanIn = name.endsWith('.bias') ? mlpParamShapes(shape)[i - 1][1][1] : s[1];
      m.params.set(name, stackedUniform(s, seeds.map((seed) => mixSeed(seed, i)), 1 / Math.sqrt(fanIn)));
    });
    return m;
  }

  /** Fine-tunes of a base: every hidden layer copied from it, a new head per model from its seed. */
  static fromBase(base: StateDict, shape: MlpShape, seeds: readonly number[]): BatchedMlp {
    const m = new BatchedMlp(shape, seeds.length);
    const shapes = mlpParamShapes(shape);
    shapes.forEach(([name, s], i) => {
      if (name.startsWith('head.')) {
        const fanIn = shape.hidden[shape.hidden.length - 1];
        m.params.set(name, stackedUniform(s, seeds.map((seed) => mixSeed(seed, 1000 + i)), 1 / Math.sqrt(fanIn)));
        return;
      }
      const v = base.get(name);
      if (!v || v.shape.join() !== s.join()) throw new Error(`zoo: base lacks ${name} [${s}] (has [${v?.shape ?? 'nothing'}])`);
      m.params.set(name, stackedFrom(v, seeds.length));
    });
    return m;
  }

  /** x: [M, B, inputs] -> logits [M, B, classes]. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < this.shape.hidden.length; i++) h = relu(this.linear(h, `layers.${i}`));
    return this.linear(h, 'head');
  }

  private linear(h: Tensor, name: string): Tensor {
    const w = this.params.get(`${name}.weight`)!;
    const b = this.params.get(`${name}.bias`)!;
    return matmul(h, w, { transB: true, bias: b });
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}

