#!/usr/bin/env bash
# The GPU machine's check, in one run of under 8 minutes (bench/README.md):
#   1. build: the addon against that machine's PyTorch LibTorch (CUDA),
#   2. tests: the suite with UNMIX_TEST_DEVICE=cuda,
#   3. bench: every benchmark on CUDA against Python PyTorch on the same GPU (BENCHMARKS.md's section for CUDA and that LibTorch),
#   4. pack: the CUDA prebuild (npm run prebuild), packed, installed and loaded through the prebuild path.
# Everything lands in $OUT (default ./gpu-check-out): summary.txt, build.log, jest.log, bench.log,
# bench.json, BENCHMARKS.md, pack.log, prebuild.tar.gz (8 files: the device tool brings back 8 at most).
#
#   bash bench/gpu-check.sh
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_SKIP=build,tests GPU_CHECK_QUICK=1 bash bench/gpu-check.sh   (a dry run of
#   the flow on a CPU machine, in a copy of the tree: it writes prebuilds/ and dist/)
#
# The machine cannot reach a registry. Node comes with the tree: `node` on PATH, else .device/node, else
# .device/node.xz (xz-compressed binary); npm from PATH or .device/npm (an npm package folder), else the
# npm steps run what npm would run (GPU_CHECK_NO_NPM=1 forces that). node_modules must be there (or .device/node_modules.tar.*, unpacked).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-check-out}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
FLAVOR=$([[ $DEVICE == cpu ]] && echo cpu || echo cuda)
SKIP=",${GPU_CHECK_SKIP:-},"
QUICK=$([[ -n ${GPU_CHECK_QUICK:-} ]] && echo --quick || true)
mkdir -p "$OUT"
START=$(date +%s)
DEADLINE=$((START + ${GPU_CHECK_SECONDS:-465}))
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }
left() { echo $((DEADLINE - $(date +%s))); }
skipped() { [[ $SKIP == *",$1,"* ]] && note "$1: skipped (GPU_CHECK_SKIP)"; }

# step NAME CAP LOG CMD...: CMD under `timeout`, at most CAP seconds and never past the deadline.
step() {
  local name=$1 cap=$2 log=$3
  shift 3
  local t begin rc status=ok
  t=$(left)
  ((cap < t)) && t=$cap
  if ((t < 15)); then
    note "$name: SKIPPED (${t} s left of the time limit)"
    return 1
  fi
  begin=$(date +%s)
  echo "== $name ($(date -u +%H:%M:%S), limit ${t} s): $*" >>"$log"
  timeout --kill-after=10 "$t" "$@" >>"$log" 2>&1
  rc=$?
  ((rc == 124 || rc == 137)) && status="TIMED OUT"
  ((rc != 0 && rc != 124 && rc != 137)) && status=FAILED
  note "$name: $status (rc $rc, $(($(date +%s) - begin)) s of ${t} s; log: $(basename "$log"))"
  return $rc
}

# --- Node, npm, node_modules -------------------------------------------------------------------
TOOLS=$(mktemp -d /tmp/unmix-gpu-check.XXXXXX)
export PATH="$TOOLS:$PATH"
if ! command -v node >/dev/null; then
  if [[ -x .device/node ]]; then
    ln -s "$ROOT/.device/node" "$TOOLS/node"
  elif [[ -f .device/node.xz ]]; then
    if command -v xz >/dev/null; then
      xz -dc .device/node.xz >"$TOOLS/node"
    else
      python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' .device/node.xz "$TOOLS/node"
    fi
    chmod +x "$TOOLS/node"
  fi
fi
if ! command -v npm >/dev/null && [[ -f .device/npm/bin/npm-cli.js ]]; then
  printf '#!/bin/sh\nexec node %s "$@"\n' "$ROOT/.device/npm/bin/npm-cli.js" >"$TOOLS/npm"
  chmod +x "$TOOLS/npm"
fi
if [[ ! -d node_modules ]]; then
  for archive in .device/node_modules.tar.*; do [[ -f $archive ]] && tar -xf "$archive" -C "$ROOT"; done
fi
HAVE_NPM=0
command -v npm >/dev/null && [[ -z ${GPU_CHECK_NO_NPM:-} ]] && HAVE_NPM=1

{
  echo "unmix gpu-check on $DEVICE, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm)"
  echo "node: $(node --version 2>&1 || echo MISSING); npm: $( ((HAVE_NPM)) && npm --version 2>&1 || echo 'none, fallbacks used')"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
  python3 -c 'import sys, torch, torchvision; print("python3:", sys.executable, "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "torchvision", torchvision.__version__)' 2>&1
  echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
} | tee -a "$SUMMARY"
if ! command -v node >/dev/null || [[ ! -d node_modules ]]; then
  note "FAILED: node and node_modules are needed (see the top of this script)"
  exit 1
fi
TSX=(node "$ROOT/node_modules/tsx/dist/cli.mjs")

# The addon builds against python3's torch; the benchmarks' Python side is that torch too.
LIBTORCH=${LIBTORCH:-$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)}
UNMIX_BENCH_PYTHON=${UNMIX_BENCH_PYTHON:-$(command -v python3)}
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
export LIBTORCH UNMIX_BENCH_PYTHON CMAKE_BUILD_PARALLEL_LEVEL
# The tests take their fixtures and twins from the Python that provided LibTorch (test/support/python.ts).

# --- 1. build ---------------------------------------------------------------------------------
if ! skipped build; then
  if ! step build 240 "$OUT/build.log" node scripts/install.js --force; then
    note "the build failed: nothing else can run"
    exit 1
  fi
fi
step "addon loads ($DEVICE)" 60 "$OUT/build.log" "${TSX[@]}" -e "
  import * as u from './lib';
  const i = u.info();
  console.log(JSON.stringify(i));
  if ('$DEVICE' !== 'cpu' && !u.cuda.isAvailable()) throw new Error('the addon sees no CUDA');
  console.log('sum on $DEVICE:', u.tensor([1, 2, 3], { device: '$DEVICE' }).mul(2).sum().item());
" || exit 1

# --- 2. tests ---------------------------------------------------------------------------------
# Left out: gyp (node-gyp downloads Node headers) and package (npm install needs the registry); step 4
# checks the packed prebuild here instead. The cap keeps 230 s for steps 3 and 4.
if ! skipped tests; then
  export UNMIX_TEST_DEVICE=$DEVICE
  step "tests (UNMIX_TEST_DEVICE=$DEVICE)" $(($(left) - 230)) "$OUT/jest.log" node node_modules/jest/bin/jest.js --ci --testPathIgnorePatterns 'gyp\.test|package\.test'
  grep -E '^(Tests|Test Suites):' "$OUT/jest.log" | tee -a "$SUMMARY"
fi

# --- 3. benchmarks ----------------------------------------------------------------------------
if ! skipped bench; then
  [[ -f BENCHMARKS.md ]] && cp BENCHMARKS.md "$OUT/BENCHMARKS.md"
  if ((HAVE_NPM)); then
    BENCH=(npm run --silent bench -- all --device "$DEVICE" --json --out "$OUT/BENCHMARKS.md" $QUICK)
  else
    BENCH=("${TSX[@]}" bench/run.ts all --device "$DEVICE" --json --out "$OUT/BENCHMARKS.md" $QUICK)
  fi
  step "benchmarks ($DEVICE)" $(($(left) - 70)) "$OUT/bench.log" bash -c '"$@" >"$0"' "$OUT/bench.json" "${BENCH[@]}"
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const c of r.results) console.log(`bench ${c.case}: unmix ${c.ts_ms.toPrecision(3)} ms, PyTorch ${c.py_ms.toPrecision(3)} ms, speedup ${c.speedup.toFixed(2)}`);
    for (const f of r.failures) console.log(`bench ${f.case}: FAILED ${f.error.split("\n")[0]}`);
  ' "$OUT/bench.json" 2>&1 | tee -a "$SUMMARY"
fi

# --- 4. prebuild, packed, installed through the prebuild path ---------------------------------
pack_check() {
  set -euo pipefail
  local work tarball pkg app
  work=$(mktemp -d /tmp/unmix-pack.XXXXXX)
  # the prebuild of the addon step 1 built (without --no-compile it would compile again)
  if ((HAVE_NPM)); then npm run prebuild -- --no-compile; else node scripts/prebuild.js --no-compile; fi
  if ((HAVE_NPM)); then
    tarball=$work/$(npm pack --pack-destination "$work" | tail -n1)
  else
    # npm's prepack, then package.json's "files" under package/ (links to LibTorch left out, as .npmignore does)
    node node_modules/typescript/bin/tsc -p tsconfig.build.json
    mkdir -p "$work/package"
    cp -r package.json README.md CMakeLists.txt binding.gyp dist native scripts prebuilds "$work/package/"
    find "$work/package/prebuilds" -name libtorch -type l -delete
    tarball=$work/unmix-packed-by-hand.tgz
    tar -czf "$tarball" -C "$work" package
  fi
  tar -tzf "$tarball" | grep -E "package/prebuilds/linux-x64/libtorch-[^/]+-$FLAVOR/unmix\.node"
  if tar -tzf "$tarball" | grep -q '^package/build/'; then
    echo "the tarball holds build/"
    exit 1
  fi
  # What `npm install TARBALL --foreground-scripts` does, without the registry: unpack into node_modules
  # and run the package's install script; dependencies resolve from this checkout's node_modules.
  app=$work/app
  pkg=$app/node_modules/unmix
  mkdir -p "$pkg"
  tar -xzf "$tarball" -C "$pkg" --strip-components=1
  (cd "$pkg" && node scripts/install.js) | tee "$work/install.log"
  grep -q "unmix: using the prebuilt addon prebuilds/linux-x64/libtorch-.*-$FLAVOR" "$work/install.log"
  if grep -q 'compiling the native addon' "$work/install.log" || [[ -e $pkg/build/Release ]]; then
    echo "it compiled instead of using the prebuild"
    exit 1
  fi
  (cd "$app" && NODE_PATH=$ROOT/node_modules node -e "
    const u = require('unmix');
    const i = u.info();
    const sum = u.tensor([1, 2, 3], { device: '$DEVICE' }).add(1).sum().item();
    console.log(JSON.stringify({ ...i, sum }));
    if (i.addon !== 'prebuilt' || sum !== 9 || ('$DEVICE' !== 'cpu' && !i.cuda)) process.exit(1);
  ")
  tar -czf "$OUT/prebuild.tar.gz" --exclude=libtorch prebuilds
  tar -tzvf "$OUT/prebuild.tar.gz"
  rm -rf "$work"
}
if ! skipped pack; then
  export -f pack_check
  export HAVE_NPM ROOT OUT DEVICE FLAVOR
  step "prebuild + pack + install from the tarball" $(($(left) - 5)) "$OUT/pack.log" bash -c pack_check
fi

note "total: $(($(date +%s) - START)) s"
rm -rf "$TOOLS"
if grep -qE ': (FAILED|TIMED OUT|SKIPPED)' "$SUMMARY"; then exit 1; fi
exit 0
