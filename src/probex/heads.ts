// The two heads on a representation e: fine-tuning-class logits (multi-label, trained with BCE; or single-label with
// cross-entropy), and the text-aligned head, which maps frozen text embeddings of class prompts into the
// representation space and scores a model against each class by cosine similarity (no temperature by default).
import { Linear, Module, cosineSimilarityMatrix, exp, keep, mul, parameter, tensor, type Tensor } from '../core/index.ts';

export interface ClassHeadConfig {
  in: number;
  classes: number;
  /** 'none' when the encoder already outputs one logit per class (the Dense baseline, as in the paper). */
  kind: 'linear' | 'none';
  seed: number;
}

export class ClassHead extends Module {
  readonly linear: Linear | null;
  constructor(readonly cfg: ClassHeadConfig) {
    super();
    if (cfg.kind === 'none' && cfg.in !== cfg.classes) throw new Error(`class head: without a linear layer the encoder must output ${cfg.classes} values, not ${cfg.in}`);
    this.linear = cfg.kind === 'linear' ? new Linear(cfg.in, cfg.classes, { seed: cfg.seed }) : null;
  }
  forward(e: Tensor): Tensor {
    return this.linear ? this.linear.forward(e) : e;
  }
}

export interface TextHeadConfig {
  /** Text embedding size (512 for USE-lite, 768 for CLIP ViT-L/14) and representation size r_T. */
  textDim: number;
  rep: number;
  /** A learnable logit scale exp(s), s starting at log(initScale); off by default as in the paper. */
  learnScale: boolean;
  initScale: number;
  seed: number;
}

export class TextHead extends Module {
  readonly map: Linear;
  readonly logScale: Tensor | null;
  constructor(readonly cfg: TextHeadConfig) {
    super();
    this.map = new Linear(cfg.textDim, cfg.rep, { seed: cfg.seed });
    this.logScale = cfg.learnScale ? keep(parameter(tensor([Math.log(cfg.initScale)], [1]), 'logScale')) : null;
  }
  /** The class prompts' embeddings [c, textDim] mapped into representation space: [c, rep]. */
  classVectors(text: Tensor): Tensor {
    return this.map.forward(text);
  }
  /** Cosine similarity of each representation [b, rep] with each class text [c, textDim]: [b, c]. */
  forward(e: Tensor, text: Tensor): Tensor {
    const cos = cosineSimilarityMatrix(e, this.classVectors(text));
    return this.logScale ? mul(cos, exp(this.logScale)) : cos;
  }
}
