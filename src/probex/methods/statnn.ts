// The StatNN baseline (Unterthiner et al., 2020): a small MLP on the statistics of every weight tensor of a model
// (data/weight-stats.ts), z-scored over the training models.
import { Linear, relu, type Tensor } from '../../core/index.ts';
import { WeightEncoder, type EncoderConfig, type EncoderInput } from './encoder.ts';

export interface StatNNConfig {
  features: number;
  hidden: number;
  out: number;
  seed: number;
}

export class StatNN extends WeightEncoder {
  readonly method = 'statnn';
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(readonly cfg: StatNNConfig) {
    super();
    this.fc1 = new Linear(cfg.features, cfg.hidden, { seed: cfg.seed * 2 + 1 });
    this.fc2 = new Linear(cfg.hidden, cfg.out, { seed: cfg.seed * 2 + 2 });
  }

  get outDim(): number {
    return this.cfg.out;
  }

  config(): EncoderConfig {
    return { ...this.cfg };
  }

  encode({ features }: EncoderInput): Tensor {
    if (!features) throw new Error('statnn: no weight statistics were given');
    return this.fc2.forward(relu(this.fc1.forward(features)));
  }
}
