// The browser example page: trains the QuickDraw MLP on navigator.gpu with the engine's WGSL kernels (the training
// code of examples/mlp-quickdraw.ts under Node, shared through examples/shared/), plots the loss and classifies what
// is drawn on the pad. serve.ts bundles and serves it; query parameters (classes, epochs, lr, batch, hidden, seed,
// auto=1 to start at once) preset the run.
import { initEngine, type Engine, type PoolStats } from '../../src/core/index.ts';
import { QUICKDRAW_SIZE, parseQuickdrawNdjson } from '../../src/datasets/quickdraw-format.ts';
import { DEFAULT_CLASSES, classify, numberFrom, trainConfig, trainMlp, type TrainOptions, type TrainResult, type TrainedMlp } from '../shared/mlp-training.ts';

/** What the page shows, kept in one object that a test (or the console) can read. */
export interface PageState {
  status: 'starting' | 'idle' | 'loading' | 'training' | 'trained' | 'error';
  adapter: string;
  isSoftware: boolean | null;
  epochLosses: number[];
  result: TrainResult | null;
  /** The last classification shown (pad or held-out drawing), most likely class first. */
  prediction: { name: string; p: number }[] | null;
  /** The 28 x 28 pixels (row-major, [0, 1]) that prediction was made from. */
  pixels: number[] | null;
  /** The true class of a held-out drawing on the pad; null for a drawing of one's own. */
  truth: string | null;
  error: string | null;
}

type RunOptions = Partial<Pick<TrainOptions, 'classes' | 'epochs' | 'lr' | 'batch' | 'hidden' | 'seed'>>;

export interface ExampleHandle {
  state: PageState;
  /** Class probabilities for each row of 784 values with the trained model. */
  classify(rows: number[][]): Promise<number[][]>;
  /** Train again with these options (those not given come from the form and the address); refused while a run is on. */
  train(opts?: RunOptions): Promise<void>;
  /** The engine's buffer counters (bytes in use, ...), to see that retraining frees the last model. */
  memory(): PoolStats | null;
}

declare global {
  interface Window {
    quickdrawExample?: ExampleHandle;
  }
}

const PAD_SCALE = 10; // pad pixels per bitmap pixel
const LINE_WIDTH = 2; // bitmap pixels: the package's strokes are about this wide

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el as T;
};

const state: PageState = { status: 'starting', adapter: '', isSoftware: null, epochLosses: [], result: null, prediction: null, pixels: null, truth: null, error: null };
let engineRef: Engine | null = null;
let trained: TrainedMlp | null = null;
/** The run in progress, if any: one at a time (two would interleave their losses and leak a model). */
let running: Promise<void> | null = null;
/** The last classification's readback: a model is not disposed under it. */
let classifying: Promise<void> = Promise.resolve();
/** Options from the address (lr, batch, hidden, seed), read once at load; epochs and classes fill the form. */
let fromAddress: RunOptions = {};
let strokes: [number, number][][] = [];

function setStatus(status: PageState['status'], text: string): void {
  state.status = status;
  $('status').textContent = text;
}

function fail(e: unknown): void {
  state.error = e instanceof Error ? e.message : String(e);
  $('error').textContent = state.error;
  setStatus('error', 'stopped by an error (below)');
}

/** Suggestions for a class name the package lacks: same name in other case, or names containing it. */
async function unknownClass(name: string): Promise<Error> {
  let hint = '';
  try {
    const all = (await (await fetch('data/classes.json')).json()) as string[];
    const l = name.toLowerCase();
    const close = all.filter((c) => c.toLowerCase() === l || (l.length >= 3 && (c.toLowerCase().includes(l) || l.includes(c.toLowerCase()))));
    hint = close.length ? `: did you mean ${close.slice(0, 5).map((c) => `"${c}"`).join(', ')}?` : ` (data/classes.json lists the ${all.length} there are)`;
  } catch {
    // the suggestion is a nicety; the error stands without it
  }
  return new Error(`unknown QuickDraw class "${name}"${hint}`);
}

/** One class file of the package, through the example server (gzip, unpacked here). */
async function fetchDrawings(name: string): Promise<Float32Array[]> {
  const url = `data/${encodeURIComponent(name)}.ndjson.gz`;
  const res = await fetch(url);
  if (res.status === 404) throw await unknownClass(name);
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
  const text = await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).text();
  return parseQuickdrawNdjson(text, url);
}

/** The options only the address sets; a bad one is reported at load (edit the address to change it). */
function addressOptions(q: URLSearchParams): RunOptions {
  const out: RunOptions = {};
  for (const k of ['lr', 'batch', 'hidden', 'seed'] as const) {
    const v = q.get(k);
    if (v !== null) out[k] = numberFrom(`address parameter ${k} (edit the address to change it)`, v);
  }
  return out;
}

function drawLossChart(losses: readonly number[]): void {
  const c = $<HTMLCanvasElement>('loss');
  const ctx = c.getContext('2d')!;
  ctx.clearRect(0, 0, c.width, c.height);
  if (losses.length === 0) return;
  const hi = Math.max(...losses);
  const x = (i: number): number => 6 + (i * (c.width - 12)) / Math.max(1, losses.length - 1);
  const y = (v: number): number => c.height - 6 - (v / hi) * (c.height - 20);
  ctx.strokeStyle = '#3867d6';
  ctx.lineWidth = 2;
  ctx.beginPath();
  losses.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
  ctx.stroke();
  ctx.fillStyle = '#666';
  ctx.fillText(`loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)}`, 8, 12);
}

/** Drop the last model and everything shown from it. */
async function forgetModel(): Promise<void> {
  await classifying; // not under a pending readback
  trained?.dispose();
  trained = null;
  state.result = null;
  state.prediction = null;
  $('accuracy').textContent = '';
  clearPad();
}

function train(overrides: RunOptions = {}): Promise<void> {
  if (!engineRef) return Promise.reject(new Error('the WebGPU engine has not started (see the adapter line)'));
  if (running) return Promise.reject(new Error('a training run is already going; wait for it to finish'));
  running = trainOnce(overrides).finally(() => {
    running = null;
    $<HTMLButtonElement>('train').disabled = false;
  });
  return running;
}

async function trainOnce(overrides: RunOptions): Promise<void> {
  state.error = null;
  $('error').textContent = '';
  $<HTMLButtonElement>('train').disabled = true;
  $<HTMLButtonElement>('sample').disabled = true;
  try {
    const opts: TrainOptions = {
      ...fromAddress,
      classes: $<HTMLInputElement>('classes').value.split(',').map((s) => s.trim()).filter((s) => s !== ''),
      epochs: numberFrom('epochs', $<HTMLInputElement>('epochs').value),
      ...overrides,
    };
    const { classes, config } = trainConfig(opts); // bad options stop here, by name
    setStatus('loading', `loading ${classes.length} classes...`);
    const t0 = performance.now();
    const perClass = await Promise.all(classes.map(fetchDrawings));
    await forgetModel();
    state.epochLosses = [];
    drawLossChart([]);
    setStatus('training', `training: epoch 0 of ${config.epochs}`);
    trained = await trainMlp(
      perClass,
      {
        ...opts,
        classes,
        onEpoch: (epoch, loss) => {
          state.epochLosses.push(loss);
          drawLossChart(state.epochLosses);
          $('status').textContent = `training: epoch ${epoch + 1} of ${config.epochs}, loss ${loss.toFixed(4)}`;
        },
      },
      performance.now() - t0,
    );
    const r = trained.result;
    state.result = r;
    const pct = (a: number): string => `${(100 * a).toFixed(1)}%`;
    $('accuracy').textContent =
      `held-out accuracy ${pct(r.testAccuracy)} (chance ${pct(1 / classes.length)}), training ${pct(r.trainAccuracy)}; ` +
      `${r.steps} steps in ${(r.timeMs.train / 1000).toFixed(1)} s`;
    $<HTMLButtonElement>('sample').disabled = false;
    setStatus('trained', `trained on ${classes.join(', ')}: draw one of them`);
  } catch (e) {
    fail(e);
  }
}

/** The strokes as the package renders its drawings: scaled to fit the 28 x 28 box from its top-left corner, the ink
 * of a stroke on the first row and column reaching pixel 0. */
function rasterize(lines: readonly (readonly [number, number])[][]): Float32Array | null {
  const pts = lines.flat();
  if (pts.length === 0) return null;
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
  const span = Math.max(Math.max(...xs) - x0, Math.max(...ys) - y0, 1);
  const edge = LINE_WIDTH / 2; // stroke centres this far in, so that their ink starts at pixel 0 and ends at 27
  const scale = (QUICKDRAW_SIZE - 2 * edge) / span;
  const c = document.createElement('canvas');
  c.width = c.height = QUICKDRAW_SIZE;
  const ctx = c.getContext('2d', { willReadFrequently: true })!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, QUICKDRAW_SIZE, QUICKDRAW_SIZE);
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = LINE_WIDTH;
  ctx.lineCap = ctx.lineJoin = 'round';
  for (const line of lines) {
    ctx.beginPath();
    line.forEach(([x, y], i) => {
      const [u, v] = [edge + (x - x0) * scale, edge + (y - y0) * scale];
      if (i === 0) ctx.moveTo(u, v);
      ctx.lineTo(u + (line.length === 1 ? 0.01 : 0), v); // a lone point still leaves a dot
    });
    ctx.stroke();
  }
  const rgba = ctx.getImageData(0, 0, QUICKDRAW_SIZE, QUICKDRAW_SIZE).data;
  return Float32Array.from({ length: QUICKDRAW_SIZE * QUICKDRAW_SIZE }, (_, i) => rgba[4 * i] / 255);
}

/** Classify one drawing with the current model and show it; a model replaced meanwhile makes it drop the answer. */
function showPrediction(pixels: Float32Array, truth: string | null): void {
  const t = trained;
  if (!t) return;
  const job = classifying.then(async () => {
    if (trained !== t) return;
    const [probs] = await classify(t.model, [pixels]);
    state.prediction = t.result.classes.map((name, i) => ({ name, p: probs[i] })).sort((a, b) => b.p - a.p);
    state.pixels = Array.from(pixels);
    state.truth = truth;
    $('truth').textContent = truth ? `a held-out drawing of: ${truth}` : '';
    $('predictions').replaceChildren(
      ...state.prediction.slice(0, 3).map(({ name, p }) => {
        const row = document.createElement('div');
        row.innerHTML = `<span class="name"></span><span class="bar" style="width:${Math.round(150 * p)}px"></span><span>${(100 * p).toFixed(1)}%</span>`;
        row.querySelector('.name')!.textContent = name;
        return row;
      }),
    );
  });
  classifying = job.catch(fail);
}

function clearPad(): void {
  strokes = [];
  state.truth = null;
  const pad = $<HTMLCanvasElement>('pad');
  const ctx = pad.getContext('2d')!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  $('predictions').replaceChildren();
  $('truth').textContent = '';
}

function setUpPad(): void {
  const pad = $<HTMLCanvasElement>('pad');
  const ctx = pad.getContext('2d')!;
  clearPad();
  let pointer: number | null = null; // the one pointer drawing; others are ignored
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  const segment = (a: readonly [number, number], b: readonly [number, number]): void => {
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = LINE_WIDTH * PAD_SCALE;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0] + (a === b ? 0.01 : 0), b[1]);
    ctx.stroke();
  };
  pad.addEventListener('pointerdown', (e) => {
    if (pointer !== null) return;
    if (state.truth !== null) clearPad(); // drawing over a held-out sample starts afresh
    pointer = e.pointerId;
    pad.setPointerCapture(e.pointerId);
    const p = at(e);
    strokes.push([p]);
    segment(p, p); // a tap leaves the dot the bitmap will have
  });
  pad.addEventListener('pointermove', (e) => {
    if (e.pointerId !== pointer) return;
    const line = strokes[strokes.length - 1];
    const [a, b] = [line[line.length - 1], at(e)];
    line.push(b);
    segment(a, b);
  });
  const end = (e: PointerEvent): void => {
    if (e.pointerId !== pointer) return;
    pointer = null;
    const pixels = rasterize(strokes);
    if (pixels) showPrediction(pixels, null);
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  $('clear').addEventListener('click', clearPad);
  $('sample').addEventListener('click', () => {
    if (!trained) return;
    const { testRows, testLabels, classes } = trained.data;
    const i = Math.floor(Math.random() * testRows.length);
    clearPad();
    const img = ctx.createImageData(pad.width, pad.height);
    for (let p = 0; p < img.data.length / 4; p++) {
      const v = 255 * testRows[i][Math.floor(p / pad.width / PAD_SCALE) * QUICKDRAW_SIZE + Math.floor((p % pad.width) / PAD_SCALE)];
      img.data.set([v, v, v, 255], 4 * p);
    }
    ctx.putImageData(img, 0, 0);
    showPrediction(testRows[i], classes[testLabels[i]]);
  });
}

async function start(): Promise<void> {
  const q = new URLSearchParams(location.search);
  $<HTMLInputElement>('classes').value = q.get('classes') ?? DEFAULT_CLASSES.join(', ');
  $<HTMLInputElement>('epochs').value = q.get('epochs') ?? '10';
  window.quickdrawExample = {
    state,
    classify: async (rows) => {
      if (!trained) throw new Error('classify: nothing trained yet');
      return (await classify(trained.model, rows.map((r) => Float32Array.from(r)))).map((p) => Array.from(p));
    },
    train,
    memory: () => engineRef?.memory ?? null,
  };
  setUpPad();
  $('train').addEventListener('click', () => void train().catch(fail));
  try {
    fromAddress = addressOptions(q);
    engineRef = await initEngine();
  } catch (e) {
    fail(e); // Train stays disabled: nothing could run
    return;
  }
  const info = engineRef.info;
  state.adapter = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ');
  state.isSoftware = info.isSoftware;
  $('adapter').textContent = `adapter: ${state.adapter}${info.isSoftware ? ' (a software adapter: it runs on the CPU, slowly)' : ''}`;
  // Only a page that is really going away frees the GPU; one kept for Back/Forward (persisted) keeps its engine.
  addEventListener('pagehide', (e) => {
    if (e.persisted) return;
    trained?.dispose();
    engineRef?.destroy();
  });
  setStatus('idle', 'ready: press Train');
  $<HTMLButtonElement>('train').disabled = false;
  if (q.get('auto') === '1') await train();
}

start().catch(fail);
