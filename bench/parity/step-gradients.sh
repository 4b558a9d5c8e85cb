#!/bin/bash
# How far float32 rounding moves one MoCo + Un-Mix step's gradients, on each side, next to how far the two
# sides are apart (README, "What the exchanges showed"): a one-seed run of the runner at a tiny budget
# (width 4, 20 images per class, batch 32) records the twin's initial weights, batches and draws; then both
# sides replay them for STEPS steps in float32 and in float64 and save step STEPS's gradients.
#   bash bench/parity/step-gradients.sh [STEPS] [OUT]      (defaults: 2, /tmp/unmix-step-gradients)
# The lr is the run's in its first epoch: unmix_c10.py's cosine at epoch 1 of 2, 0.06·½(1 + cos(π/2)) = 0.03.
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=${1:-2} out=${2:-/tmp/unmix-step-gradients}
npm run -s parity -- --methods moco-unmix --seeds 1 --width 4 --subset 20 --test-subset 2 --epochs 2 --batch 32 \
  --exchange draws --out "$out" > "$out.log" 2>&1 || { tail -20 "$out.log"; exit 1; }
runs=$out/runs
for dtype in float32 float64; do
  /usr/bin/python3 bench/parity/step_gradients.py dump "$runs" 0 4 "$steps" 0.03 "$dtype" "$out/py-$dtype.pt"
  UNMIX_NUM_THREADS=1 npx tsx bench/parity/step-gradients.ts "$runs" 0 4 "$steps" 0.03 "$dtype" "$out/ts-$dtype.pt"
done
compare() { /usr/bin/python3 bench/parity/step_gradients.py compare "$out/$1.pt" "$out/$2.pt"; }
compare py-float32 py-float64 # the reference's own float32 rounding
compare ts-float32 py-float64 # unmix's
compare ts-float32 py-float32 # unmix from the reference, both float32
compare ts-float64 py-float64 # the two sides in float64
