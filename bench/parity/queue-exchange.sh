#!/bin/bash
# waits for the main parity set (npm PID $1) to end, then runs the init exchange for MoCo + Un-Mix
cd "$(dirname "$0")/../.." || exit 1
while kill -0 "$1" 2>/dev/null; do sleep 30; done
nice -n 10 npm run parity -- --methods moco-unmix --seeds 3 --exchange init --out bench/results/learning-parity-init
