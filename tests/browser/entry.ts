// Browser entry for tests/browser.test.ts: one small forward+backward case on the browser-safe core API. Bundled by
// esbuild for the page (which calls window.runCase), and imported by the test in Node so both run the same code.
import {
  backward,
  crossEntropy,
  initEngine,
  matmul,
  mean,
  parameter,
  relu,
  add,
  tanh,
  tensor,
  tidy,
  type DeviceInfo,
} from '../../src/core/index.ts';

/** Plain arrays only: they cross page.evaluate() as JSON. */
export interface CaseInputs {
  x: number[]; // [5, 7]
  w: number[]; // [3, 7]
  b: number[]; // [3]
  labels: number[]; // [5], class indices in 0..2
}

export interface CaseResult {
  loss: number;
  wGrad: number[];
  bGrad: number[];
}

export interface BrowserCaseResult extends CaseResult {
  info: DeviceInfo;
}

export const N = 5;
export const IN = 7;
export const OUT = 3;

/**
 * On the current engine: y = relu(x W^T + b), loss = mean(tanh(y)) + crossEntropy(y, labels); backward, then read
 * the loss and the gradients of W and b.
 */
export async function computeCase(inputs: CaseInputs): Promise<CaseResult> {
  const w = parameter(tensor(inputs.w, [OUT, IN]), 'W');
  const b = parameter(tensor(inputs.b, [OUT]), 'b');
  try {
    const loss = tidy(() => {
      const x = tensor(inputs.x, [N, IN]);
      const labels = tensor(inputs.labels, [N], 'i32');
      const y = relu(add(matmul(x, w, { transB: true }), b));
      const l = add(mean(tanh(y)), crossEntropy(y, labels));
      backward(l);
      return l;
    });
    const [lossValue, wGrad, bGrad] = await Promise.all([loss.item(), w.grad!.data(), b.grad!.data()]);
    loss.dispose();
    return { loss: lossValue, wGrad: Array.from(wGrad), bGrad: Array.from(bGrad) };
  } finally {
    w.dispose();
    b.dispose();
  }
}

declare global {
  interface Window {
    runCase?: (inputs: CaseInputs) => Promise<BrowserCaseResult>;
  }
}

// In the page: start the engine on navigator.gpu, run the case, and release the device.
if (typeof window !== 'undefined') {
  window.runCase = async (inputs: CaseInputs): Promise<BrowserCaseResult> => {
    const e = await initEngine();
    try {
      return { ...(await computeCase(inputs)), info: e.info };
    } finally {
      e.destroy();
    }
  };
}
