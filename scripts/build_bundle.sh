#!/usr/bin/env bash
# Build the PyInstaller one-folder bundle dist/cnnviz/ and smoke-test it.
#
# A virtual environment of its own (build/venv) gets PyInstaller and this checkout; the
# bundle is built from packaging/cnnviz.spec; then the bundle runs `--version` and
# `--self-test` (offscreen, twice: with an empty Numba cache, then a warm one) with no
# Python environment at all (env -i), checks that Numba cached into the user's cache
# folder and not into the bundle, and that no bundled Qt library misses a Qt dependency.
# Too slow for every CI run (a few minutes). Usage: bash scripts/build_bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=build/venv
BUNDLE=dist/cnnviz

echo "== environment: $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "pyinstaller>=6.10" .

echo "== pyinstaller packaging/cnnviz.spec"
rm -rf "$BUNDLE"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/cnnviz.spec
echo "bundle size: $(du -sh "$BUNDLE" | cut -f1) ($(find "$BUNDLE" -type f | wc -l) files)"

echo "== Qt libraries the bundle misses (none expected)"
missing=$(find "$BUNDLE" -name '*.so*' -type f -exec ldd {} + 2>/dev/null \
    | grep 'libQt6.*not found' | sort -u || true)
if [ -n "$missing" ]; then echo "$missing"; exit 1; fi

echo "== smoke test, no Python environment"
CACHE=$(mktemp -d)
trap 'rm -rf "$CACHE"' EXIT
run() { env -i HOME="$CACHE/home" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
    XDG_CACHE_HOME="$CACHE/cache" XDG_CONFIG_HOME="$CACHE/config" "$BUNDLE/cnnviz" "$@"; }
run --version
for cache in cold warm; do
    start=$EPOCHREALTIME
    run --self-test
    awk -v a="$start" -v b="$EPOCHREALTIME" -v c="$cache" \
        'BEGIN { printf "self-test with a %s Numba cache: %.1f s wall\n", c, b - a }'
done
[ -n "$(find "$CACHE/cache/cnnviz/numba" -name '*.nbi' | head -1)" ] \
    || { echo "Numba did not cache into \$XDG_CACHE_HOME/cnnviz/numba"; exit 1; }
if find "$BUNDLE" -name '*.nbi' | grep -q .; then
    echo "Numba wrote its cache into the bundle"; exit 1
fi
if [ "$(nproc)" -gt 1 ]; then
    echo "== the trainer's share worker process starts inside the bundle"
    run train --epochs 6 --json | tail -1 | tee "$CACHE/train.json"
    grep -q '"shares": "1 worker process' "$CACHE/train.json" \
        || { echo "the trainer's shares did not run in a worker process"; exit 1; }
fi
echo "== ok: $BUNDLE/cnnviz"
