// A sum kept on the GPU: a training loop adds each step's loss without reading it back and reads the total once (per
// epoch, or per validation), so that no step waits for the device.
import { Tensor, keep, tidy } from '../tensor.ts';
import { add, mul } from '../ops/elementwise.ts';
import { detach } from '../ops/shape.ts';

export class RunningSum {
  private total: Tensor | null = null;
  /** Values added since the last take(). */
  terms = 0;

  /** Adds t's value (detached; t stays its owner's to dispose). */
  add(t: Tensor): void {
    const prev = this.total;
    // The first term is copied (times 1), so the sum never aliases a tensor its owner may dispose.
    this.total = tidy(() => keep(prev ? add(prev, detach(t)) : mul(detach(t), 1)));
    prev?.dispose();
    this.terms++;
  }

  /** The sum so far, now the caller's to dispose (null if nothing was added); the running sum starts over at zero. */
  take(): Tensor | null {
    const t = this.total;
    this.total = null;
    this.terms = 0;
    return t;
  }

  dispose(): void {
    this.total?.dispose();
    this.total = null;
    this.terms = 0;
  }
}
