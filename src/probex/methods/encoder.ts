// What every method that turns a model's weights into a vector shares: a Module with an output size, a config that
// rebuilds it, and an encode step over a minibatch of layers (and, for StatNN, of precomputed weight statistics).
import { Module, type Tensor } from '../../core/index.ts';
import type { LayerBatch } from '../data/dataset.ts';

export interface EncoderInput {
  layer: LayerBatch;
  /** Per-model feature rows [b, f] (StatNN's weight statistics), when the method uses them. */
  features?: Tensor;
}

export type EncoderConfig = Record<string, number | string | boolean>;

export abstract class WeightEncoder extends Module {
  abstract readonly method: string;
  abstract readonly outDim: number;
  /** Everything needed to rebuild the encoder (written into checkpoints). */
  abstract config(): EncoderConfig;
  /** [b, outDim] for a minibatch. */
  abstract encode(input: EncoderInput): Tensor;
}
