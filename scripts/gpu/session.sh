#!/bin/bash
# On the GPU machine, from the repository root: bash .gpu/session.sh [STAGE ...] (default: bench zoo train eval).
# Everything a session with a GPU should measure, in one command that fits one device call: each stage runs under a
# timeout cut to what is left of BUDGET_S (default 540 s), and writes under $OUT as it goes, so a stage cut short
# still leaves what it finished. The zoo build and training resume if a later call finds the machine still warm.
#   bench   tune, then matmul, reduce and scale with --json (records and SVGs in $OUT/bench/)
#   zoo     probex zoo build --preset ${PRESET:-default} --chunk ${CHUNK:-256} [--trees $TREES]; zoo summary --signal
#           (default preset: cheapest trees first, so that a build cut short still holds whole trees)
#   train   probex train --seeds ${SEEDS:-3} $TRAIN_ARGS (e.g. TRAIN_ARGS="--epochs 200") on the trees built in full
#   eval    probex eval: results.md / results.json / run.json to $OUT/run/
set -uo pipefail
g=.gpu
OUT=${OUT:-out}
mkdir -p "$OUT/bench" "$OUT/run"
bash $g/run.sh --help > /dev/null 2>&1 # unpacks Node, the Vulkan loader and dawn.node (run.sh's side effects)
icd=$(ls /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -1)
[ -n "$icd" ] && export VK_DRIVER_FILES=$icd
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
export PROBEX_QUICKDRAW_DIR=$g/data/quickdraw PROBEX_MNIST_DIR=$g/data/mnist PROBEX_FASHION_MNIST_DIR=$g/data/fashion-mnist
export PROBEX_TUNING=bench/tuning.json
node=${NODE:-/tmp/gpu-node}
ZOO=${ZOO:-/tmp/zoo-${PRESET:-default}}
RUN=${RUN:-/tmp/run-${PRESET:-default}}
deadline=$(($(date +%s) + ${BUDGET_S:-540}))
# The default zoo's trees from cheapest to dearest to build (the LoRA tree carries the zero-shot numbers).
[ "${PRESET:-default}" = default ] && TREES=${TREES-lora-autoencoder,mlp-quickdraw,mlp-quickdraw-seed2,mlp-fashion,mlp-mnist,vit-quickdraw,mlp-wide}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | tee "$OUT/gpu.txt"

# stage NAME CAP_S OUT_FILE CMD...: CMD's stdout to OUT_FILE, stderr to OUT_FILE's .log, under min(CAP_S, time left).
stage() {
  local name=$1 cap=$2 file=$3
  shift 3
  local t=$((deadline - $(date +%s)))
  ((t > cap)) && t=$cap
  if ((t < 15)); then
    echo "$name: skipped, ${t}s left" | tee -a "$OUT/stages.txt"
    return
  fi
  local t0=$(date +%s)
  timeout "$t" "$@" > "$file" 2> "${file%.*}.log"
  local rc=$?
  echo "$name: exit $rc after $(($(date +%s) - t0))s (limit ${t}s)" | tee -a "$OUT/stages.txt"
}

for s in ${@:-bench zoo train eval}; do
  case $s in
    bench)
      stage tune 120 "$OUT/bench/tune.json" $node $g/app.mjs tune --json --out "$OUT/bench"
      cp bench/tuning.json "$OUT/bench/tuning.json"
      stage matmul 180 "$OUT/bench/matmul.json" $node $g/app.mjs matmul --json --out "$OUT/bench"
      stage reduce 120 "$OUT/bench/reduce.json" $node $g/app.mjs reduce --json --out "$OUT/bench"
      stage scale 120 "$OUT/bench/scale.json" $node $g/app.mjs scale --json --out "$OUT/bench"
      ;;
    zoo)
      mkdir -p "$ZOO/text"
      [ -f "$ZOO/text/use-lite.safetensors" ] || cp $g/data/text/use-lite.safetensors "$ZOO/text/"
      stage zoo-build 1200 "$OUT/zoo-build.json" $node $g/probex.mjs zoo build --preset "${PRESET:-default}" --out "$ZOO" --chunk "${CHUNK:-256}" ${TREES:+--trees "$TREES"} --json
      stage zoo-summary 120 "$OUT/zoo-summary.json" $node $g/probex.mjs zoo summary "$ZOO" --signal --json
      ;;
    train)
      # Only trees whose every planned model is there: a tree cut short would give numbers on a partial tree.
      built=$($node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1] + "/zoo.json", "utf8"));
        console.log(Object.entries(m.trees).filter(([, t]) => t.models.length > 0 && t.models.length === Object.values(t.planned).reduce((a, b) => a + b, 0)).map(([n]) => n).join(","))' "$ZOO" 2> /dev/null)
      echo "train: whole trees: ${built:-none}" | tee -a "$OUT/stages.txt"
      # shellcheck disable=SC2086
      [ -n "$built" ] && stage train 1200 "$OUT/train.json" $node $g/probex.mjs train --zoo "$ZOO" --trees "$built" --out "$RUN" --seeds "${SEEDS:-3}" ${TRAIN_ARGS:-} --json
      ;;
    eval)
      stage eval 300 "$OUT/eval.json" $node $g/probex.mjs eval --run "$RUN" --json
      cp "$RUN"/results.md "$RUN"/results.json "$RUN"/run.json "$OUT/run/" 2> /dev/null
      ;;
    *) echo "unknown stage $s (bench, zoo, train, eval)" >&2 ;;
  esac
done
cat "$OUT/stages.txt"
