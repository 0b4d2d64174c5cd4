#!/bin/bash
# On the GPU machine, from the repository root: bash .gpu/session.sh [STAGE ...] (default: bench zoo train eval).
# Everything a session with a GPU should measure, in one command that fits one device call: each stage runs under a
# timeout cut to its cap and to what is left of BUDGET_S (default 540 s). Results go to $W (default /tmp/gpu-out)
# and, after every stage, into one archive $OUT/session.tgz (the device tool returns at most 8 files), so a stage
# cut short still leaves what finished. The zoo build and training resume if a later call finds the machine warm.
#   bench   tune, then matmul, reduce and scale with --json (records and SVGs in bench/)
#   scale   the scale benchmark alone (SCALE_S, default 120 s)
#   host    bench host: each training step's host time with no kernel run, on this machine's CPU (HOST_S, default 90 s):
#           the floor under the GPU step times the other stages measure
#   tune-zoo  autotune the matmuls of the preset's training steps at CHUNK models (TUNE_S, default 150 s); the build
#           after it uses the choices, and bench/tuning.json comes back in the archive
#   zoo     probex zoo build --preset ${PRESET:-default} --chunk ${CHUNK:-250} [--trees $TREES] (BUILD_S, default
#           1200 s); zoo summary --signal (default preset: cheap trees first, so a build cut short holds whole trees)
#   train   probex train --seeds ${SEEDS:-3} $TRAIN_ARGS (e.g. TRAIN_ARGS="--epochs 200") on the trees built in full,
#           leaving EVAL_S (default 90 s) of the budget to eval
#   eval    probex eval: results.md / results.json / run.json to run/
#   pipeline  zoo, train and eval overlapped, for a short session: the build runs in the background; the trees named in
#           FIRST (default: the LoRA tree and the four small MLP trees) train into $RUN/first as soon as they are whole,
#           while the dearer trees build; those train into $RUN/rest when the build ends; then both runs are evaluated
#           (run-first/, run-rest/). BUILD_S caps the build, EVAL_S is kept for eval.
# A 15-minute session (about 13 usable after the machine starts): every session rebuilds the zoo's fine-tunes, so
# first pretrain the bases here (`probex zoo build --preset default --out /work/zoos/default --max-models 0`, 22 min on
# lavapipe; kept between sessions) and pack them (`ZOO_BASES=/work/zoos/default bash scripts/gpu/pack.sh`), then one
# call of
#   OUT=$OUT BUDGET_S=560 SCALE_S=60 HOST_S=40 BUILD_S=330 EVAL_S=70 SEEDS=3 TRAIN_ARGS="--epochs 100 --text-epochs 200" \
#     bash .gpu/session.sh scale host zoo train eval          (run's timeout_s 600)
# then, at once while the machine is warm (it is given back after 30 s idle), what is left of the device time on
#   OUT=$OUT BUDGET_S=<left - 30> EVAL_S=70 SEEDS=3 TRAIN_ARGS="--epochs 100 --text-epochs 200" \
#     bash .gpu/session.sh train eval
# (same settings: the run continues where it stopped). Measured in the first session (H200): the build is the cost
# (see results/default-h200-2026-11-27/), an expert trains in 1-7 s at 100 epochs. No matmul is tuned for a GPU yet:
# `tune-zoo` before `zoo` costs up to TUNE_S and may repay it in the build; its tuning.json is worth committing.
set -uo pipefail
g=.gpu
OUT=${OUT:-out}
W=${W:-/tmp/gpu-out}
mkdir -p "$OUT" "$W/bench" "$W/run"
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
# The default zoo's trees, cheap ones first (the LoRA tree carries the zero-shot numbers); of the two dear ones (about
# equal on lavapipe: 1,989 vs 2,190 ms a step) the wide MLP first, as the issue's main target (ProbeX vs Dense) is on it.
[ "${PRESET:-default}" = default ] && TREES=${TREES-lora-autoencoder,mlp-quickdraw,mlp-quickdraw-seed2,mlp-fashion,mlp-mnist,mlp-wide,vit-quickdraw}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | tee "$W/gpu.txt"
# GPU busy % and memory every 5 s (a subshell's child, so that `wait` in the pipeline stage does not wait for it).
# Stopped on exit: a later call on the same warm machine starts its own.
(nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -l 5 >> "$W/gpu-util.csv" 2> /dev/null &
  echo $! > "$W/.gpu-util.pid")
trap 'kill "$(cat "$W/.gpu-util.pid" 2> /dev/null)" 2> /dev/null' EXIT
# Stages may run side by side (pipeline), so each packs into its own temporary name and renames.
# tar exits 1 when a file changes while read (logs of stages still running): that archive is still good.
pack() {
  local part="$OUT/.session.$BASHPID.tgz"
  tar czf "$part" --warning=no-file-changed -C "$W" . 2> /dev/null
  if (($? <= 1)); then mv "$part" "$OUT/session.tgz"; else rm -f "$part"; fi
  cp "$W/stages.txt" "$OUT/" 2> /dev/null
}

# The zoo's trees whose every planned model is there, comma-separated (a tree cut short would give numbers on a
# partial tree).
whole_trees() {
  $node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1] + "/zoo.json", "utf8"));
    console.log(Object.entries(m.trees).filter(([, t]) => t.models.length > 0 && t.models.length === Object.values(t.planned).reduce((a, b) => a + b, 0)).map(([n]) => n).join(","))' "$ZOO" 2> /dev/null
}
# Names of list $1 (comma-separated) that are (in=1) or are not (in=0) in list $2.
pick() { tr , '\n' <<< "$1" | grep -v '^$' | grep -x -F $([ "$3" = 1 ] || echo -v) -f <(tr , '\n' <<< "$2"; echo '#') | paste -sd, -; }

# The stages' commands, shared by the one-after-another stages and the overlapped pipeline.
build_zoo() { # the zoo-build stage, the prompt embeddings copied in first (and the bases pack.sh packed, if any)
  if [ -f "$g/zoo-seed/zoo.json" ] && [ ! -f "$ZOO/zoo.json" ] && grep -q "\"preset\": *\"${PRESET:-default}\"" "$g/zoo-seed/zoo.json"; then
    mkdir -p "$ZOO" && cp -r "$g/zoo-seed/." "$ZOO/" && echo "zoo-seed: bases $(ls "$ZOO"/*/base | grep -c safetensors)" | tee -a "$W/stages.txt"
  fi
  mkdir -p "$ZOO/text"
  [ -f "$ZOO/text/use-lite.safetensors" ] || cp $g/data/text/use-lite.safetensors "$ZOO/text/"
  stage zoo-build "${BUILD_S:-1200}" "$W/zoo-build.json" $node $g/probex.mjs zoo build --preset "${PRESET:-default}" --out "$ZOO" --chunk "${CHUNK:-250}" ${TREES:+--trees "$TREES"} --json
}
summarize_zoo() { stage zoo-summary 120 "$W/zoo-summary.json" $node $g/probex.mjs zoo summary "$ZOO" --signal --json; }
train_trees() { # train_trees NAME TREES RUN: stage NAME trains TREES into RUN, leaving EVAL_S of the budget to eval
  # shellcheck disable=SC2086
  stage "$1" $((deadline - $(date +%s) - ${EVAL_S:-90})) "$W/$1.json" $node $g/probex.mjs train --zoo "$ZOO" --trees "$2" --out "$3" --seeds "${SEEDS:-3}" ${TRAIN_ARGS:-} --json
}
evaluate() { # evaluate NAME RUN DIR: stage NAME evaluates RUN; its tables and run.json go to $W/DIR
  stage "$1" 300 "$W/$1.json" $node $g/probex.mjs eval --run "$2" --json
  mkdir -p "$W/$3" && cp "$2"/results.md "$2"/results.json "$2"/run.json "$W/$3/" 2> /dev/null
  pack
}

# stage NAME CAP_S OUT_FILE CMD...: CMD's stdout to OUT_FILE, stderr to OUT_FILE's .log, under min(CAP_S, time left).
stage() {
  local name=$1 cap=$2 file=$3
  shift 3
  local t=$((deadline - $(date +%s)))
  ((t > cap)) && t=$cap
  if ((t < 15)); then
    echo "$name: skipped, ${t}s left" | tee -a "$W/stages.txt"
    return
  fi
  local t0=$(date +%s)
  timeout "$t" "$@" > "$file" 2> "${file%.*}.log"
  local rc=$?
  echo "$name: exit $rc after $(($(date +%s) - t0))s (limit ${t}s)" | tee -a "$W/stages.txt"
  pack
}

for s in ${@:-bench zoo train eval}; do
  case $s in
    bench)
      stage tune 120 "$W/bench/tune.json" $node $g/app.mjs tune --json --out "$W/bench"
      cp bench/tuning.json "$W/bench/tuning.json"
      stage matmul 180 "$W/bench/matmul.json" $node $g/app.mjs matmul --json --out "$W/bench"
      stage reduce 120 "$W/bench/reduce.json" $node $g/app.mjs reduce --json --out "$W/bench"
      stage scale 120 "$W/bench/scale.json" $node $g/app.mjs scale --json --out "$W/bench"
      ;;
    scale) stage scale "${SCALE_S:-120}" "$W/bench/scale.json" $node $g/app.mjs scale --json --out "$W/bench" ;;
    host) stage host "${HOST_S:-90}" "$W/bench/host.json" $node $g/app.mjs host --trials 1 --json --out "$W/bench" ;;
    tune-zoo)
      # Autotune the matmul classes of the preset's own training steps at CHUNK models into bench/tuning.json, which
      # the build then uses (and which comes back in the archive, to commit for later sessions on this adapter).
      stage tune-zoo "${TUNE_S:-150}" "$W/bench/zoo-step.json" $node $g/app.mjs zoo-step --tune --preset "${PRESET:-default}" --models "${CHUNK:-250}" --trials 1 --json --out "$W/bench"
      cp bench/tuning.json "$W/bench/tuning.json"
      pack
      ;;
    zoo)
      build_zoo
      summarize_zoo
      ;;
    train)
      built=$(whole_trees)
      echo "train: whole trees: ${built:-none}" | tee -a "$W/stages.txt"
      [ -n "$built" ] && train_trees train "$built" "$RUN"
      ;;
    eval) evaluate eval "$RUN" run ;;
    pipeline)
      build_zoo &
      build=$!
      first=${FIRST:-lora-autoencoder,mlp-quickdraw,mlp-quickdraw-seed2,mlp-fashion,mlp-mnist}
      while kill -0 $build 2> /dev/null && [ -n "$(pick "$first" "$(whole_trees)" 0)" ]; do sleep 3; done
      trainer() { # trainer NAME TREES: train TREES into $RUN/NAME in the background
        echo "train-$1: $2" | tee -a "$W/stages.txt"
        [ -n "$2" ] && train_trees "train-$1" "$2" "$RUN/$1" &
      }
      trainer first "$(pick "$first" "$(whole_trees)" 1)"
      wait $build
      summarize_zoo &
      trainer rest "$(pick "$(whole_trees)" "$first" 0)"
      wait
      for r in first rest; do
        [ -f "$RUN/$r/run.json" ] && evaluate "eval-$r" "$RUN/$r" "run-$r" &
      done
      wait
      ;;
    *) echo "unknown stage $s (bench, scale, host, tune-zoo, zoo, train, eval, pipeline)" >&2 ;;
  esac
done
cat "$W/stages.txt"
