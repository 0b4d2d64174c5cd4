// Packs the data a zoo build reads into one small folder, for a machine without node_modules or Debian's datasets
// (the GPU machine): QuickDraw's drawings as shipped, the leading rows of MNIST and Fashion-MNIST's training sets
// that hold the first N images of every class (the bases pretrain on exactly those; N = the presets' largest
// perClass), and the zoo's prompt embeddings (USE-lite needs its 28 MB model, which the machine cannot carry).
// Point the build at it with PROBEX_QUICKDRAW_DIR, PROBEX_MNIST_DIR and PROBEX_FASHION_MNIST_DIR (scripts/gpu/session.sh
// does). Usage: tsx scripts/gpu/data-pack.ts OUT_DIR
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, readIdx } from '../../src/datasets/idx.ts';
import { fashionMnistDir, idxPath, mnistDir } from '../../src/datasets/mnist.ts';
import { listQuickdrawClasses, quickdrawDrawingsDir } from '../../src/datasets/quickdraw.ts';
import { writeFileAtomic } from '../../src/node/files.ts';
import { PRESETS } from '../../src/probex/zoo/presets.ts';
import { leadingRowsWithPerClass } from '../../src/datasets/subset.ts';
import { loadUseLite, USE_LITE_NAME } from '../../src/probex/text/use-lite.ts';
import { writeClassEmbeddings } from '../../src/probex/text/class-embeddings.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: tsx scripts/gpu/data-pack.ts OUT_DIR');

const perClass = Math.max(...Object.values(PRESETS).flatMap((p) => p.trees.filter((t) => t.pretrain.source !== 'quickdraw').map((t) => t.pretrain.perClass)));

const qd = join(out, 'quickdraw');
mkdirSync(qd, { recursive: true });
for (const f of readdirSync(quickdrawDrawingsDir())) if (f.endsWith('.ndjson.gz')) copyFileSync(join(quickdrawDrawingsDir(), f), join(qd, f));

for (const [name, dir] of [['mnist', mnistDir()], ['fashion-mnist', fashionMnistDir()]] as const) {
  const images = readIdx(idxPath(dir, 'train-images-idx3-ubyte', name));
  const labels = readIdx(idxPath(dir, 'train-labels-idx1-ubyte', name));
  const rows = leadingRowsWithPerClass(labels.data, perClass);
  const pixels = images.dims[1] * images.dims[2];
  writeFileAtomic(join(out, name, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx([rows, images.dims[1], images.dims[2]], images.data.subarray(0, rows * pixels))));
  writeFileAtomic(join(out, name, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([rows], labels.data.subarray(0, rows))));
  console.log(`${name}: the first ${rows} of ${labels.dims[0]} training images hold ${perClass} of every class`);
}

const encoder = await loadUseLite();
try {
  await writeClassEmbeddings(join(out, 'text', `${USE_LITE_NAME}.safetensors`), encoder, await listQuickdrawClasses());
} finally {
  encoder.dispose();
}
console.log(`wrote ${out}`);
