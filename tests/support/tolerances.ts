// Every numeric tolerance the op tests use, in one place. A check passes when |got - want| <= atol + rtol * |want|.
export interface Tol {
  rtol: number;
  atol: number;
}

export const TOL = {
  /** GPU f32 forward vs the float64 reference evaluated on the same f32-rounded inputs. */
  forward: { rtol: 1e-4, atol: 1e-5 } as Tol,
  /** Forward of long accumulations (matmul, large reductions): f32 sums of k terms drift by ~k * 2^-24. */
  accumulate: { rtol: 1e-4, atol: 1e-4 } as Tol,
  /**
   * Dot products of length k of uniform(-1, 1) inputs (the ProbeX shapes, k up to 98,304): partial sums grow like
   * sqrt(k / 9) and each of the k additions rounds by up to 2^-24 of one, so the error of a sequential f32 sum walks to
   * about k / 3 * 2^-24 at worst-aligned signs; 8x that, and never below accumulate.
   */
  accumulateK: (k: number): Tol => ({ rtol: 1e-4, atol: Math.max(1e-4, (8 * k * 2 ** -24) / 3) }),
  /**
   * Outputs that are small by nature, such as softmax over rows of up to ~1e6 elements (each ~1 / r): only a relative
   * bound means anything there; the normalizer is a sum of up to ~1e6 terms, hence accumulate's rtol.
   */
  relative: { rtol: 1e-4, atol: 1e-12 } as Tol,
  /** GPU f32 backward vs the float64 reference gradient. */
  grad: { rtol: 1e-3, atol: 1e-4 } as Tol,
  /**
   * GPU f32 backward vs central finite differences of the GPU f32 forward: the difference quotient of an f32 loss
   * carries ~1e-7 |L| / h of rounding noise, hence the loose bound.
   */
  finiteDiff: { rtol: 5e-2, atol: 5e-3 } as Tol,
  /**
   * GPU normal() vs Box-Muller of the same Philox words in float64: the GPU's f32 log, sqrt, cos and sin and the f32
   * angle 2 pi u (rounded by up to ~2.4e-7, times a radius up to ~5.8) each add an error of order 1e-6; a wrong word,
   * pairing or formula errs by O(1).
   */
  boxMuller: { rtol: 1e-5, atol: 2e-5 } as Tol,
  /** Step for the f32 finite differences (relative to max(1, |x|)). */
  fdStep: 1e-2,
  /** Step for the float64 reference gradient (central differences in float64: error ~h^2 ~ 1e-12). */
  refStep: 1e-6,
} as const;
