#!/bin/bash
# Here, after `npm install`: packs everything a GPU session runs into .gpu/ (git-ignored), for the device tool's
# `run` with carry [".gpu"] and the command `bash .gpu/session.sh [STAGE ...]` (see scripts/gpu/session.sh).
#   .gpu/app.mjs      the benchmarks (bench/index.ts), with Node 20, dawn.node and the loaders (the workplace's pack.sh)
#   .gpu/probex.mjs   the probex command line
#   .gpu/data/        QuickDraw, the MNIST / Fashion-MNIST rows the bases use, the prompt embeddings (data-pack.ts)
# DEVICE_KIT: the workplace's device folder (default ../shared/device).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
kit=${DEVICE_KIT:-../shared/device}
bash "$kit/pack.sh" bench/index.ts
npx esbuild src/cli/probex.ts --bundle --platform=node --format=esm --target=node20 --external:webgpu \
  --loader:.wgsl=text --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" \
  --outfile=.gpu/probex.mjs --log-level=warning
npx tsx scripts/gpu/data-pack.ts .gpu/data
cp scripts/gpu/session.sh .gpu/session.sh
du -sh .gpu | awk '{print "packed .gpu: " $1 " (carry limit 64 MiB)"}'
