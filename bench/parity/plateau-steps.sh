#!/bin/bash
# Both sides from one state on SwAV's plateau (an example run whose loss sat at ln(prototypes)), fed the same
# recorded batches, one step per epoch at a constant lr 0.6, prototypes not frozen: their per-step losses.
#   bash bench/parity/plateau-steps.sh RUN_DIR BATCHES_DIR INDICES_JSON SEED [OUT]
# e.g. RUN_DIR bench/results/learning-parity-batches/runs/swav-ts-seed2, BATCHES_DIR .../runs/batches-swav-seed2,
# INDICES_JSON .../runs/indices-8-150-100-seed2.json, SEED 2 (the budget of `npm run parity` --exchange batches).
set -euo pipefail
cd "$(dirname "$0")/../.."
run=$1 batches=$2 indices=$3 seed=$4 out=${5:-/tmp/unmix-plateau}
data=${UNMIX_PARITY_DATA:-../shared/data/cifar10-jpeg.tar.gz}
mkdir -p "$out"
npx tsx bench/parity/ts-checkpoint-to-torch.ts "$run" "$out/start.pth"
flags=(--width 8 --subset 150 --test-subset 100 --epochs 5 --eval-init --knn-every 1 --seed "$seed" --batch_size 64
  --nmb_prototypes 30 --freeze_prototypes_niters 0 --warmup_epochs 0 --base_lr 0.6 --final_lr 0.6 --run_swav
  --replay-batches "$batches" --init-weights "$out/start.pth" --iters-per-epoch 1)
/usr/bin/python3 bench/parity/swav_c10.py --data "$data" --indices "$indices" --results-dir "$out/py" --threads 1 "${flags[@]}" > "$out/py.log" 2>&1
UNMIX_NUM_THREADS=1 npx tsx examples/unmix_swav_c10.ts --data "$data" --test-subset-seed 0 --results-dir "$out/ts" --overwrite \
  --no-progress --no-curves --device cpu "${flags[@]}" > "$out/ts.log" 2>&1
for side in py ts; do
  /usr/bin/python3 -c "import json, sys; print(sys.argv[1], ' '.join('%.7f' % r['train_loss'] for r in map(json.loads, open(sys.argv[2])) if r['train_loss']))" \
    "$side" "$out/$side/log.jsonl"
done
