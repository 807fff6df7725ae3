#!/usr/bin/env bash
# The real-MRI benchmark (bench_site_errors.py) on the GPU machine that the `device` tool sometimes lends:
# every split of every recipe given is trained at once, one single-threaded process each (patch
# sampling and augmentation run on the CPU, one core per process; the networks on the one GPU).
#
#   bench/gpu_sites.sh OUTDIR SECONDS TAG:STEPS:OVERRIDES_JSON [TAG:STEPS:OVERRIDES_JSON ...]
#
# e.g. bench/gpu_sites.sh /tmp/out 420 'ud16:2400:{"device":"cuda","augmentation":"multisite"}'
# Splits: $SPLITS, default the two within-site halves and the three left-out sites (seed $SEED,
# default 0; plan floor $MIN_SPACING mm, default 1.5). Each process is stopped after SECONDS;
# OUTDIR/TAG-SPLIT.{json,log} hold what finished, OUTDIR/sites.tar.gz all of it; the models go to
# $MODELS_DIR/models-TAG (default OUTDIR). Data: $SPINELAB_SHARED_DATA (../shared/data).
# Python: $PY (python3). Figures and the command lines used: bench/RESULTS.md "On the GPU machine".
set -u
out=$1
limit=$2
shift 2
py=${PY:-python3}
seed=${SEED:-0}
spacing=${MIN_SPACING:-1.5}
splits=${SPLITS:-within-1 within-2 loso-VB3 loso-VB1 loso-VB2}
models=${MODELS_DIR:-$out}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
pids=()
logs=()
for spec in "$@"; do
  tag=${spec%%:*}
  rest=${spec#*:}
  steps=${rest%%:*}
  overrides=${rest#*:}
  for split in $splits; do
    OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1 timeout "$limit" "$py" "$here/bench_site_errors.py" \
      --threads 1 --steps "$steps" --seed "$seed" --min-spacing "$spacing" --only "$split" \
      --overrides "$overrides" --models "$models/models-$tag" --out "$out/$tag-$split.json" \
      >"$out/$tag-$split.log" 2>&1 &
    pids+=($!)
    logs+=("$out/$tag-$split.log")
  done
done
for p in "${pids[@]}"; do wait "$p"; done
for f in "${logs[@]}"; do  # this run's logs only (OUTDIR may hold an earlier run's)
  echo "== $(basename "$f" .log): $(grep -E "slices, [0-9]+s" "$f" | tr -s ' ')"
  grep -E "^\| (within|loso) \| (VB|IVD)" "$f" | head -2
done
# written beside OUTDIR, then moved in: a tar written inside the folder it reads changes that folder
tar -czf "$out.sites.tar.gz" -C "$out" --exclude='models-*' --exclude=sites.tar.gz . && mv "$out.sites.tar.gz" "$out/sites.tar.gz"
