#!/bin/bash
# Here, after `npm install`: packs everything a GPU session runs into .gpu/ (git-ignored), for the device tool's
# `run` with carry [".gpu"] and the command `bash .gpu/session.sh [STAGE ...]` (see scripts/gpu/session.sh).
#   .gpu/app.mjs      the benchmarks (bench/index.ts), with Node 20, dawn.node and the loaders (the workplace's pack.sh)
#   .gpu/probex.mjs   the probex command line
#   .gpu/data/        QuickDraw, the MNIST / Fashion-MNIST rows the bases use, the prompt embeddings (data-pack.ts)
#   .gpu/zoo-seed/    with ZOO_BASES=DIR: the zoo.json, prompt embeddings and pretrained bases of a zoo built here with
#                     `probex zoo build --preset default --out DIR --max-models 0`; session.sh starts its build from
#                     them, so the device spends its minutes on fine-tunes (the ViT base took over a minute of the
#                     first GPU session and did not finish). Bases over 2 MiB stay behind (the wide MLP's 7.7 MiB would
#                     crowd the 64 MiB carry; a GPU pretrains it in seconds), and the device pretrains those itself.
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
rm -rf .gpu/zoo-seed
if [ -n "${ZOO_BASES:-}" ]; then
  [ -f "$ZOO_BASES/zoo.json" ] || { echo "ZOO_BASES=$ZOO_BASES holds no zoo.json" >&2; exit 1; }
  mkdir -p .gpu/zoo-seed
  (cd "$ZOO_BASES" && cp --parents zoo.json text/*.safetensors $(find */base -name '*.safetensors' -size -2049k) "$OLDPWD/.gpu/zoo-seed/")
  # Only the bases travel: the manifest's model records (of a zoo partly built here) and their build times are
  # dropped, so that the GPU's build trains and times every model itself.
  node -e 'const fs = require("fs"); const f = ".gpu/zoo-seed/zoo.json"; const m = JSON.parse(fs.readFileSync(f, "utf8"));
    for (const t of Object.values(m.trees)) { t.models = []; t.trainSeconds = 0; } m.status = "building";
    fs.writeFileSync(f, JSON.stringify(m, null, 1) + "\n");'
  ls .gpu/zoo-seed/*/base/*.safetensors | sed 's/^/seed base: /'
fi
du -sh .gpu | awk '{print "packed .gpu: " $1 " (carry limit 64 MiB)"}'
