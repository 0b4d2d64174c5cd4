// Training many models at once. Each model has its own items (row indices into one image tensor on the GPU), labels,
// learning rate and number of epochs (a model whose epochs are over is frozen while the others go on); an epoch's
// minibatch indices for every model are uploaded once, and each step slices its part on the GPU. Each step is
// submitted as soon as it is recorded and losses are summed on the GPU and read once per epoch, so the GPU works
// while the next step is recorded. Classifiers train with cross-entropy, autoencoders (the LoRA tree) with
// reconstruction MSE.
import { Adam, RunningSum, Tensor, argmax, backward, crossEntropy, detach, engine, gather, keep, mean, mse, mul, noGrad, reshape, slice, sub, tensor, tidy } from '../../core/index.ts';
import { permutation, seededRandom, mixSeed } from '../../datasets/split.ts';
import type { BatchedModel } from './models/batched.ts';

export interface ClassifierJob {
  /** Row indices into the image tensor, per model; all models need the same count. */
  items: Int32Array[];
  /** The label (in the model's own class order) of each item, per model. */
  labels: Int32Array[];
  /** One seed per model: its data order. */
  seeds: number[];
}

export interface TrainOptions {
  /** Epochs, for every model or one per model (a model stops changing after its own). */
  epochs: number | readonly number[];
  /** Adam's learning rate, for every model or one per model. */
  lr: number | readonly number[];
  batch: number;
  weightDecay?: number;
  /** Called after each epoch with the mean loss over the batch's models of that epoch's sampled steps. */
  onEpoch?: (epoch: number, loss: number) => void;
  /** Sample the loss every this many steps (default: 10); it is read once per epoch. */
  readEvery?: number;
}

/** A per-model setting as one value per model, checked. */
function perModel(name: string, v: number | readonly number[], count: number): number[] {
  const out = typeof v === 'number' ? new Array<number>(count).fill(v) : [...v];
  if (out.length !== count) throw new Error(`zoo: ${count} models but ${out.length} values of ${name}`);
  return out;
}

function checkJob(job: ClassifierJob, count: number): number {
  if (job.items.length !== count || job.labels.length !== count || job.seeds.length !== count) {
    throw new Error(`zoo: a job for ${count} models has ${job.items.length} item lists, ${job.labels.length} label lists and ${job.seeds.length} seeds`);
  }
  const n = job.items[0].length;
  for (let m = 0; m < count; m++) {
    if (job.items[m].length !== n || job.labels[m].length !== n) throw new Error(`zoo: model ${m} has ${job.items[m].length} items, model 0 has ${n}`);
  }
  return n;
}

/** Per-model mean loss of a [M, B, ...] output against its labels or inputs, as one scalar summed over models. */
export type BatchLoss = (out: Tensor, labels: Tensor, inputs: Tensor) => Tensor;

/** Cross-entropy of each model's logits [M, B, C] against its labels. */
export const classificationLoss: BatchLoss = (logits, labels) => {
  const [M, B, C] = logits.shape;
  // Mean over M * B rows, times M: each model's gradient is that of its own mean loss.
  return mul(crossEntropy(reshape(logits, [M * B, C]), labels), M);
};

/** MSE of each model's reconstruction [M, B, D] against its inputs. */
export const reconstructionLoss: BatchLoss = (out, _labels, inputs) => mul(mse(out, inputs), out.shape[0]);

/** Train every model of `model` on its own items; returns the final epoch's mean loss. */
export async function trainClassifiers(model: BatchedModel, images: Tensor, job: ClassifierJob, opts: TrainOptions): Promise<number> {
  return trainModels(model, images, job, opts, classificationLoss);
}

export async function trainModels(model: BatchedModel, images: Tensor, job: ClassifierJob, opts: TrainOptions, lossOf: BatchLoss): Promise<number> {
  const M = model.count;
  const n = checkJob(job, M);
  const B = Math.min(opts.batch, n);
  const steps = Math.floor(n / B);
  const readEvery = opts.readEvery ?? 10;
  const lrs = perModel('lr', opts.lr, M);
  const epochs = perModel('epochs', opts.epochs, M);
  const optimizer = new Adam([...model.params.values()], { lr: 1, weightDecay: opts.weightDecay ?? 0, groups: M });
  let last = NaN;
  // Tensors of the epoch in flight, freed in `finally` if a step throws.
  let epochTensors: Tensor[] = [];
  const lossSum = new RunningSum();
  try {
    for (let epoch = 0; epoch < Math.max(...epochs); epoch++) {
      const active = epochs.map((e) => epoch < e);
      optimizer.setGroupScale(lrs.map((lr, m) => (active[m] ? lr : 0)));
      // Layout [step, model, row] so that each step's slice is contiguous.
      const idx = new Int32Array(steps * M * B);
      const lab = new Int32Array(steps * M * B);
      for (let m = 0; m < M; m++) {
        const order = permutation(n, seededRandom(mixSeed(job.seeds[m], epoch)));
        for (let s = 0; s < steps; s++) {
          for (let r = 0; r < B; r++) {
            const item = order[s * B + r];
            idx[(s * M + m) * B + r] = job.items[m][item];
            lab[(s * M + m) * B + r] = job.labels[m][item];
          }
        }
      }
      const idxT = tensor(idx, [idx.length], 'i32');
      const labT = tensor(lab, [lab.length], 'i32');
      epochTensors = [idxT, labT];
      for (let s = 0; s < steps; s++) {
        const loss = tidy(() => {
          const rows = slice(idxT, [s * M * B], [(s + 1) * M * B]);
          const x = reshape(gather(images, rows), [M, B, images.shape[1]]);
          const l = lossOf(model.forward(x), slice(labT, [s * M * B], [(s + 1) * M * B]), x);
          optimizer.zeroGrad({ setToNone: true });
          backward(l);
          optimizer.update();
          return detach(l);
        });
        if ((s + 1) % readEvery === 0 || s === steps - 1) lossSum.add(loss);
        loss.dispose();
        engine().flush();
      }
      for (const t of epochTensors) t.dispose();
      epochTensors = [];
      // The loss sums every model's; frozen models still contribute, so report the batch mean as it is.
      const sampled = lossSum.terms;
      const sum = lossSum.take();
      last = sum ? (await sum.item()) / M / sampled : NaN;
      sum?.dispose();
      opts.onEpoch?.(epoch, last);
    }
  } finally {
    for (const t of epochTensors) t.dispose();
    lossSum.dispose();
    optimizer.dispose();
    for (const p of model.params.values()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }
  return last;
}

/** Accuracy of each model on its own items, `chunk` items per model at a time: the training batch size keeps a
 * pass within the activations a training step already fit in its storage bindings. */
export async function evaluateClassifiers(model: BatchedModel, images: Tensor, job: Omit<ClassifierJob, 'seeds'>, chunk = 256): Promise<number[]> {
  const M = model.count;
  const n = job.items[0].length;
  const correct = new Array<number>(M).fill(0);
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    const idx = new Int32Array(M * len);
    for (let m = 0; m < M; m++) idx.set(job.items[m].subarray(start, start + len), m * len);
    const idxT = tensor(idx, [idx.length], 'i32');
    const pred = noGrad(() =>
      tidy(() => keep(argmax(model.forward(reshape(gather(images, idxT), [M, len, images.shape[1]])), -1))),
    );
    const p = await pred.data();
    pred.dispose();
    idxT.dispose();
    for (let m = 0; m < M; m++) {
      for (let r = 0; r < len; r++) if (p[m * len + r] === job.labels[m][start + r]) correct[m]++;
    }
  }
  return correct.map((c) => c / n);
}

/** Mean reconstruction MSE of each model on its own items (no training). */
export async function evaluateReconstruction(model: BatchedModel, images: Tensor, items: Int32Array[]): Promise<number[]> {
  const M = model.count;
  const n = items[0].length;
  const idx = new Int32Array(M * n);
  for (let m = 0; m < M; m++) idx.set(items[m], m * n);
  const idxT = tensor(idx, [idx.length], 'i32');
  const err = noGrad(() =>
    tidy(() => {
      const x = reshape(gather(images, idxT), [M, n, images.shape[1]]);
      const d = sub(model.forward(x), x);
      return keep(mean(mul(d, d), [1, 2]));
    }),
  );
  const out = [...(await err.data())];
  err.dispose();
  idxT.dispose();
  return out;
}
