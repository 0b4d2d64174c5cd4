// The browser example page: trains the QuickDraw MLP on navigator.gpu with the engine's WGSL kernels (the training
// code of examples/mlp-quickdraw.ts under Node, shared through examples/shared/), plots the loss and classifies what
// is drawn on the pad. serve.ts bundles and serves it; query parameters (classes, epochs, lr, batch, hidden, seed,
// auto=1 to start at once) preset the run.
import { initEngine, type Engine } from '../../src/core/index.ts';
import { QUICKDRAW_SIZE, parseQuickdrawNdjson } from '../../src/datasets/quickdraw-format.ts';
import { DEFAULT_CLASSES, classify, trainConfig, trainMlp, type TrainOptions, type TrainResult, type TrainedMlp } from '../shared/mlp-training.ts';

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

export interface ExampleHandle {
  state: PageState;
  /** Class probabilities for each row of 784 values with the trained model. */
  classify(rows: number[][]): Promise<number[][]>;
  /** Train again with these options (those not given come from the form). */
  train(opts?: Partial<Pick<TrainOptions, 'classes' | 'epochs' | 'lr' | 'batch' | 'hidden' | 'seed'>>): Promise<void>;
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

/** One class file of the package, through the example server (gzip, unpacked here). */
async function fetchDrawings(name: string): Promise<Float32Array[]> {
  const url = `data/${encodeURIComponent(name)}.ndjson.gz`;
  const res = await fetch(url);
  if (res.status === 404) throw new Error(`unknown QuickDraw class "${name}" (data/classes.json lists them)`);
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
  const text = await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).text();
  return parseQuickdrawNdjson(text, url);
}

/** A number typed into the form or the address; anything else is refused naming where it came from. */
function numberFrom(where: string, raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new Error(`${where}: expected a number, got "${raw}"`);
  return v;
}

/** The run's options from the query string (trainConfig then checks their ranges). */
function queryOptions(): Partial<TrainOptions> {
  const q = new URLSearchParams(location.search);
  const out: Partial<TrainOptions> = {};
  for (const k of ['epochs', 'lr', 'batch', 'hidden', 'seed'] as const) {
    const v = q.get(k);
    if (v !== null) out[k] = numberFrom(`query parameter ${k}`, v);
  }
  const classes = q.get('classes');
  if (classes !== null) out.classes = classes.split(',').map((s) => s.trim()).filter((s) => s !== '');
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

async function train(overrides: Parameters<ExampleHandle['train']>[0] = {}): Promise<void> {
  state.error = null;
  $('error').textContent = '';
  $<HTMLButtonElement>('train').disabled = true;
  try {
    const opts: TrainOptions = {
      ...queryOptions(),
      classes: $<HTMLInputElement>('classes').value.split(',').map((s) => s.trim()).filter((s) => s !== ''),
      epochs: numberFrom('epochs', $<HTMLInputElement>('epochs').value),
      ...overrides,
    };
    const { classes, config } = trainConfig(opts); // bad options stop here, by name
    setStatus('loading', `loading ${classes.length} classes...`);
    const t0 = performance.now();
    const perClass = await Promise.all(classes.map(fetchDrawings));
    trained?.dispose();
    trained = null;
    $<HTMLButtonElement>('sample').disabled = true;
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
  } finally {
    $<HTMLButtonElement>('train').disabled = false;
  }
}

/** The strokes as the package renders its drawings: scaled to fit the 28 x 28 box from its top-left corner. */
function rasterize(lines: readonly (readonly [number, number])[][]): Float32Array | null {
  const pts = lines.flat();
  if (pts.length === 0) return null;
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
  const span = Math.max(Math.max(...xs) - x0, Math.max(...ys) - y0, 1);
  const scale = (QUICKDRAW_SIZE - 2) / span;
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
      const [u, v] = [1 + (x - x0) * scale, 1 + (y - y0) * scale];
      if (i === 0) ctx.moveTo(u, v);
      ctx.lineTo(u + (line.length === 1 ? 0.01 : 0), v); // a lone point still leaves a dot
    });
    ctx.stroke();
  }
  const rgba = ctx.getImageData(0, 0, QUICKDRAW_SIZE, QUICKDRAW_SIZE).data;
  return Float32Array.from({ length: QUICKDRAW_SIZE * QUICKDRAW_SIZE }, (_, i) => rgba[4 * i] / 255);
}

async function showPrediction(pixels: Float32Array, truth: string | null): Promise<void> {
  if (!trained) return;
  const [probs] = await classify(trained.model, [pixels]);
  const classes = trained.result.classes;
  state.prediction = classes.map((name, i) => ({ name, p: probs[i] })).sort((a, b) => b.p - a.p);
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
}

function clearPad(): void {
  strokes = [];
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
  let drawing = false;
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  pad.addEventListener('pointerdown', (e) => {
    if (state.truth !== null) clearPad(); // drawing over a held-out sample starts afresh
    state.truth = null;
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    strokes.push([at(e)]);
  });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    const line = strokes[strokes.length - 1];
    const [a, b] = [line[line.length - 1], at(e)];
    line.push(b);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = LINE_WIDTH * PAD_SCALE;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  });
  pad.addEventListener('pointerup', () => {
    drawing = false;
    const pixels = rasterize(strokes);
    if (pixels) showPrediction(pixels, null).catch(fail);
  });
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
    showPrediction(testRows[i], classes[testLabels[i]]).catch(fail);
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
  };
  setUpPad();
  $('train').addEventListener('click', () => void train());
  try {
    engineRef = await initEngine();
  } catch (e) {
    fail(e);
    return;
  }
  const info = engineRef.info;
  state.adapter = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ');
  state.isSoftware = info.isSoftware;
  $('adapter').textContent = `adapter: ${state.adapter}${info.isSoftware ? ' (a software adapter: it runs on the CPU, slowly)' : ''}`;
  addEventListener('pagehide', () => {
    trained?.dispose();
    engineRef?.destroy();
  });
  setStatus('idle', 'ready: press Train');
  if (q.get('auto') === '1') await train();
}

start().catch(fail);
