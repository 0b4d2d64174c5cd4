// The browser example (examples/browser): its server, and its page in headless chromium (WebGPU on SwiftShader
// here) training the QuickDraw MLP as the Node example does, then classifying held-out drawings and a drawing made
// with the mouse on its pad; bad query parameters are refused by name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { initNode, type Engine } from '../src/node/index.ts';
import { loadQuickdrawClasses } from '../src/datasets/quickdraw.ts';
import { splitPerClass } from '../src/datasets/split.ts';
import { startExampleServer, type ExampleServer } from '../examples/browser/serve.ts';
import { DEFAULT_CLASSES, trainQuickdrawMlp, type TrainResult } from '../examples/mlp-quickdraw.ts';
import type { PageState } from '../examples/browser/main.ts';
import { CHROMIUM_MISSING, launchChromium, type Chromium } from './support/chromium.ts';

const EPOCHS = 3;
// Page (SwiftShader) and Node (lavapipe) run the same f32 program; rounding differences between the two
// implementations grow over the steps but stay far below this (the losses agree to four decimals in our runs).
const LOSS_ATOL = 5e-4;

let server: ExampleServer;
let browser: Chromium | null = null;
let nodeEngine: Engine;

beforeAll(async () => {
  server = await startExampleServer(0);
  browser = await launchChromium();
  nodeEngine = await initNode();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  nodeEngine?.destroy();
});

async function settle(page: Page): Promise<PageState> {
  await page.waitForFunction(() => ['trained', 'error'].includes(window.quickdrawExample?.state.status ?? ''), undefined, { timeout: 110_000 });
  return page.evaluate(() => window.quickdrawExample!.state);
}

describe('example server', () => {
  it('serves the page, its script, the class list and class files, and nothing else', async () => {
    const get = (path: string): Promise<Response> => fetch(new URL(path, server.url));
    expect((await get('/')).headers.get('content-type')).toMatch(/text\/html/);
    const script = await (await get('/main.js')).text();
    expect(script).toContain('quickdrawExample');
    expect(script).toContain('@compute'); // the engine's WGSL came along
    const classes = (await (await get('/data/classes.json')).json()) as string[];
    expect(classes).toHaveLength(345);
    const eiffel = await get(`/data/${encodeURIComponent('The Eiffel Tower')}.ndjson.gz`);
    expect(eiffel.status).toBe(200);
    expect([...new Uint8Array(await eiffel.arrayBuffer()).subarray(0, 2)]).toEqual([0x1f, 0x8b]); // gzip, unpacked by the page
    // Names that end like a class file but are not one of the package's classes (fetch would normalise a literal
    // ../, so the traversals are escaped); a malformed escape is a 400 and the server goes on answering.
    for (const bad of ['/data/nope.ndjson.gz', `/data/${encodeURIComponent('../../../package.json%00')}.ndjson.gz`, `/data/${encodeURIComponent('../drawings/apple')}.ndjson.gz`, '/package.json']) {
      expect((await get(bad)).status, bad).toBe(404);
    }
    expect((await get('/%E0%A4%A')).status).toBe(400);
    expect((await get('/data/apple.ndjson.gz')).status).toBe(200);
  });

  it('says so when the port is taken', async () => {
    const port = Number(new URL(server.url).port);
    await expect(startExampleServer(port)).rejects.toThrow(new RegExp(`port ${port} is in use .*--port 0`));
  });
});

describe('example page', () => {
  it(`trains for ${EPOCHS} epochs as Node does, and classifies held-out drawings and one drawn on the pad`, async () => {
    expect(browser, CHROMIUM_MISSING).not.toBeNull();
    const page = browser!.page;
    await page.goto(`${server.url}?epochs=${EPOCHS}&auto=1`);
    const state = await settle(page);
    expect(state.error).toBeNull();
    expect(browser!.pageErrors).toEqual([]);
    expect(state.adapter).not.toBe('');
    const r = state.result as TrainResult;
    expect(r.classes).toEqual(DEFAULT_CLASSES);
    expect(r.epochLosses).toHaveLength(EPOCHS);
    expect(r.epochLosses[EPOCHS - 1]).toBeLessThan(r.epochLosses[0]);

    // The same run under Node/Dawn: same split, initialisation (the engine's Philox) and order.
    const node = await trainQuickdrawMlp({ epochs: EPOCHS });
    console.log(`page (${state.adapter}): losses ${r.epochLosses.map((l) => l.toFixed(4)).join(' ')}, held-out ${r.testAccuracy}; ` +
      `node: ${node.epochLosses.map((l) => l.toFixed(4)).join(' ')}, held-out ${node.testAccuracy}`);
    expect(r.losses.map((l) => l.step)).toEqual(node.losses.map((l) => l.step));
    for (const [i, l] of r.losses.entries()) expect(Math.abs(l.loss - node.losses[i].loss), `loss at step ${l.step}`).toBeLessThanOrEqual(LOSS_ATOL);
    for (let e = 0; e < EPOCHS; e++) expect(Math.abs(r.epochLosses[e] - node.epochLosses[e])).toBeLessThanOrEqual(LOSS_ATOL);
    expect(r.testAccuracy).toBeGreaterThan(0.3); // chance 0.1
    expect(Math.abs(r.testAccuracy - node.testAccuracy)).toBeLessThanOrEqual(0.05);

    // The held-out drawings one call through the page's classify(): its argmax is the accuracy the page reported.
    const perClass = await loadQuickdrawClasses(DEFAULT_CLASSES);
    const { test } = splitPerClass(perClass, { train: 80, test: 20, seed: 0 });
    const probs = await page.evaluate((rows) => window.quickdrawExample!.classify(rows), test.items.map((x) => Array.from(x)));
    expect(probs).toHaveLength(test.items.length);
    let right = 0;
    for (const [i, p] of probs.entries()) {
      expect(p).toHaveLength(DEFAULT_CLASSES.length);
      expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-4);
      if (p.indexOf(Math.max(...p)) === test.labels[i]) right++;
    }
    expect(right / test.items.length).toBeCloseTo(r.testAccuracy, 6);

    // A circle drawn with the mouse: rasterized the way the package's bitmaps are (scaled to fit from the top-left
    // corner, strokes about 2 pixels wide), then classified.
    const box = (await page.locator('#pad').boundingBox())!;
    const [cx, cy, rad] = [box.x + box.width / 2, box.y + box.height / 2, box.width / 4];
    await page.mouse.move(cx + rad, cy);
    await page.mouse.down();
    for (let a = 0; a <= 2 * Math.PI + 0.01; a += Math.PI / 16) await page.mouse.move(cx + rad * Math.cos(a), cy + rad * Math.sin(a));
    await page.mouse.up();
    await page.waitForFunction(() => window.quickdrawExample!.state.prediction !== null, undefined, { timeout: 30_000 });
    const drawn = await page.evaluate(() => window.quickdrawExample!.state);
    expect(drawn.truth).toBeNull();
    const px = drawn.pixels!;
    expect(px).toHaveLength(784);
    expect(px.every((v) => v >= 0 && v <= 1)).toBe(true);
    // The package's bitmaps: ink from row 0 and column 0, the longer side spanning the box, strokes ~2 pixels wide
    // (19-22% of the pixels inked in the classes above); a circle's ring comes out the same.
    const inked = [...px.keys()].filter((i) => px[i] > 0.3);
    const rows = inked.map((i) => Math.floor(i / 28));
    const cols = inked.map((i) => i % 28);
    expect(Math.min(...rows)).toBe(0);
    expect(Math.min(...cols)).toBe(0);
    expect(Math.max(...rows, ...cols)).toBeGreaterThanOrEqual(26);
    expect(inked.length / 784).toBeGreaterThan(0.1);
    expect(inked.length / 784).toBeLessThan(0.35);
    const pred = drawn.prediction!;
    expect(pred.map((p) => p.name).sort()).toEqual([...DEFAULT_CLASSES].sort());
    expect(pred.every((p, i) => i === 0 || p.p <= pred[i - 1].p)).toBe(true);
    expect(await page.locator('#predictions > div').count()).toBe(3);

    // A held-out drawing put on the pad: its true class is shown beside the prediction.
    await page.click('#sample');
    await page.waitForFunction(() => window.quickdrawExample!.state.truth !== null, undefined, { timeout: 30_000 });
    const sample = await page.evaluate(() => window.quickdrawExample!.state);
    expect(DEFAULT_CLASSES).toContain(sample.truth);
    expect(test.items.some((x) => x.every((v, i) => v === sample.pixels![i]))).toBe(true);
    expect(await page.locator('#truth').textContent()).toContain(sample.truth!);
    expect(browser!.pageErrors).toEqual([]);
  });

  it('runs one training at a time, and a new one frees the last model', async () => {
    expect(browser, CHROMIUM_MISSING).not.toBeNull();
    const page = browser!.page;
    await page.goto(`${server.url}?epochs=1&auto=1`);
    await settle(page);
    const first = await page.evaluate(() => window.quickdrawExample!.memory()!.bytesInUse);
    // A held-out drawing being classified while a new run starts, and a second run asked for during the first.
    const second = await page.evaluate(async () => {
      const h = window.quickdrawExample!;
      document.getElementById('sample')!.click();
      const a = h.train({ epochs: 2 });
      const b = await h.train({ epochs: 2 }).then(() => 'ran', (e: Error) => e.message);
      await a;
      return b;
    });
    expect(second).toMatch(/already going/);
    const state = await page.evaluate(() => window.quickdrawExample!.state);
    expect(state.error).toBeNull();
    expect(state.status).toBe('trained');
    expect(state.epochLosses).toHaveLength(2);
    expect(await page.evaluate(() => window.quickdrawExample!.memory()!.bytesInUse)).toBe(first);
    expect(browser!.pageErrors).toEqual([]);
  });

  it('refuses bad parameters by name, and takes a corrected form', async () => {
    expect(browser, CHROMIUM_MISSING).not.toBeNull();
    const page = browser!.page;
    await page.goto(`${server.url}?epochs=abc&auto=1`);
    expect((await settle(page)).error).toMatch(/epochs: expected a number, got "abc"/);
    await page.fill('#epochs', '1');
    await page.click('#train');
    expect((await settle(page)).status).toBe('trained');
    await page.goto(`${server.url}?epochs=2.5&auto=1`);
    expect((await settle(page)).error).toMatch(/epochs must be a positive integer, got 2.5/);
    await page.goto(`${server.url}?lr=fast&auto=1`);
    expect((await settle(page)).error).toMatch(/address parameter lr \(edit the address to change it\): expected a number, got "fast"/);
    expect(await page.locator('#train').isDisabled()).toBe(true);
    await page.goto(`${server.url}?hidden=1000000&auto=1`);
    expect((await settle(page)).error).toMatch(/hidden must be at most 16384, got 1000000/);
    await page.goto(`${server.url}?classes=apple,Cat&epochs=1&auto=1`);
    expect((await settle(page)).error).toMatch(/unknown QuickDraw class "Cat": did you mean "cat"/);
    await page.goto(`${server.url}?classes=apple,nope&epochs=1&auto=1`);
    expect((await settle(page)).error).toMatch(/unknown QuickDraw class "nope"/);
    await page.goto(`${server.url}?classes=apple&auto=1`);
    expect((await settle(page)).error).toMatch(/need at least 2 classes/);
    expect(await page.locator('#error').textContent()).toMatch(/need at least 2 classes/);
  });
});
