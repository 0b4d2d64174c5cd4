// Proves the same shader sources run in a browser: bundles tests/browser/entry.ts (core API only) with esbuild, runs
// it in headless Debian chromium on WebGPU (SwiftShader here) and checks it against the same case on Dawn in Node.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { initNode, type Engine } from '../src/node/index.ts';
import { computeCase, IN, N, OUT, type BrowserCaseResult, type CaseInputs, type CaseResult } from './browser/entry.ts';
import { rng } from './support/harness.ts';
import { CHROMIUM_MISSING, launchChromium, type Chromium } from './support/chromium.ts';

const ENTRY = fileURLToPath(new URL('./browser/entry.ts', import.meta.url));
// Two f32 WebGPU implementations (SwiftShader vs Dawn on lavapipe) may round transcendentals and reduction order
// differently: agree when |browser - node| <= ATOL + RTOL * |node|.
const RTOL = 1e-4;
const ATOL = 1e-5;

function makeInputs(): CaseInputs {
  const r = rng(20240611); // not the engine's RNG: inputs must not depend on the code under test
  const uni = (n: number, scale: number): number[] => Array.from({ length: n }, () => Math.fround((r() * 2 - 1) * scale));
  return {
    x: uni(N * IN, 1),
    w: uni(OUT * IN, 0.6),
    b: uni(OUT, 0.2),
    labels: Array.from({ length: N }, (_, i) => (i * 2 + 1) % OUT),
  };
}

/** The pre-activations x W^T + b in f64, to check that no relu input sits near its kink. */
function preActivations(inp: CaseInputs): number[] {
  const z: number[] = [];
  for (let i = 0; i < N; i++) {
    for (let o = 0; o < OUT; o++) {
      let s = inp.b[o];
      for (let k = 0; k < IN; k++) s += inp.x[i * IN + k] * inp.w[o * IN + k];
      z.push(s);
    }
  }
  return z;
}

/** Asserts agreement elementwise; returns the largest absolute difference, for the log. */
function expectClose(name: string, got: readonly number[], want: readonly number[]): number {
  expect(got.length, `${name}: length`).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    expect(Number.isFinite(got[i]), `${name}[${i}] = ${got[i]} is not finite`).toBe(true);
    const err = Math.abs(got[i] - want[i]);
    expect(err, `${name}[${i}]: browser ${got[i]} vs node ${want[i]}`).toBeLessThanOrEqual(ATOL + RTOL * Math.abs(want[i]));
    worst = Math.max(worst, err);
  }
  return worst;
}

function startServer(bundle: string): Promise<Server> {
  const html = '<!doctype html><meta charset="utf-8"><title>probex browser test</title><link rel="icon" href="data:,"><script type="module" src="/bundle.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else if (req.url === '/bundle.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Loopback only: http://127.0.0.1 is a secure context, which WebGPU requires.
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('browser (chromium WebGPU) vs Node (Dawn)', () => {
  let server: Server | null = null;
  let browser: Chromium | null = null;
  let nodeEngine: Engine | null = null;
  let page: Page;
  let baseUrl = '';
  let pageErrors: string[] = [];

  beforeAll(async () => {
    // Without chromium the test itself fails (below) with the fix; nothing else is started.
    browser = await launchChromium();
    if (!browser) return;
    ({ page, pageErrors } = browser);
    const result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors, 'esbuild errors').toEqual([]);
    expect(result.outputFiles).toHaveLength(1);
    server = await startServer(result.outputFiles[0].text);
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    nodeEngine = await initNode();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    nodeEngine?.destroy();
  });

  it('runs the same forward+backward case and agrees with Node', async () => {
    expect(browser, CHROMIUM_MISSING).not.toBeNull();
    const inputs = makeInputs();
    const z = preActivations(inputs);
    // Both sides of the relu are exercised, and no input is within 1e-3 of the kink (where f32 rounding could flip
    // relu's step between the two implementations).
    expect(z.some((v) => v > 0) && z.some((v) => v < 0), 'pre-activations should have both signs').toBe(true);
    expect(Math.min(...z.map(Math.abs)), 'a pre-activation is too close to 0').toBeGreaterThan(1e-3);

    await page.goto(baseUrl);
    await page.waitForFunction(() => typeof window.runCase === 'function', undefined, { timeout: 30_000 }).catch((e: unknown) => {
      throw new Error(`the bundle did not define window.runCase (page errors: ${pageErrors.join(' | ') || 'none'}): ${String(e)}`);
    });
    const inBrowser: BrowserCaseResult = await page.evaluate((inp) => window.runCase!(inp), inputs);
    const node: CaseResult = await computeCase(inputs);

    const info = inBrowser.info;
    console.log(
      `browser adapter: vendor="${info.vendor}" architecture="${info.architecture}" device="${info.device}" ` +
        `description="${info.description}" isSoftware=${info.isSoftware}; node adapter: "${nodeEngine!.info.description}"`,
    );
    expect(info.vendor || info.architecture || info.description, 'browser adapter has no identifying info').not.toBe('');
    expect(pageErrors, 'page errors').toEqual([]);

    expect(Number.isFinite(node.loss) && node.loss > 0, `node loss ${node.loss}`).toBe(true);
    expect(node.wGrad.some((v) => v !== 0), 'W.grad is all zero in Node').toBe(true);
    const worst = Math.max(
      expectClose('loss', [inBrowser.loss], [node.loss]),
      expectClose('W.grad', inBrowser.wGrad, node.wGrad),
      expectClose('b.grad', inBrowser.bGrad, node.bGrad),
    );
    console.log(`loss ${inBrowser.loss} (browser) vs ${node.loss} (node); largest |difference| ${worst.toExponential(2)}`);
  });
});
