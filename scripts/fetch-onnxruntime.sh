#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library cityfix loads at run time (ort `load-dynamic`).
#
# The library comes from the official `onnxruntime` wheel on PyPI, downloaded with pip
# (no Python package is installed), checked against the sha256 pinned below, and
# unpacked to .onnxruntime/libonnxruntime.so in the project root. ORT_DYLIB_PATH overrides
# that location at run time. Linux x86_64 only; other platforms: install ONNX Runtime
# 1.31 yourself and point ORT_DYLIB_PATH at its libonnxruntime.so.
#
# Usage: scripts/fetch-onnxruntime.sh [DEST_DIR]   (default: <project>/.onnxruntime)
set -euo pipefail

VERSION="1.31.1"
WHEEL="onnxruntime-${VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256="5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/.onnxruntime}"

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    echo "error: this script fetches the Linux x86_64 build; set ORT_DYLIB_PATH to a local ONNX Runtime ${VERSION} instead" >&2
    exit 1
fi
if [[ -f "$dest/libonnxruntime.so" && -f "$dest/VERSION" && "$(cat "$dest/VERSION")" == "$VERSION" ]]; then
    echo "ONNX Runtime ${VERSION} already in $dest"
    exit 0
fi

python="$(command -v python3 || true)"
if [[ -z "$python" ]] || ! "$python" -m pip --version >/dev/null 2>&1; then
    echo "error: needs python3 with pip to download the onnxruntime wheel from PyPI (apt-get install python3-pip)" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The platform flags pin the exact wheel, whatever the local Python is.
"$python" -m pip download "onnxruntime==${VERSION}" --no-deps --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 \
    --platform manylinux_2_28_x86_64 --dest "$work" --quiet

actual="$(sha256sum "$work/$WHEEL" | cut -d' ' -f1)"
if [[ "$actual" != "$WHEEL_SHA256" ]]; then
    echo "error: sha256 mismatch for $WHEEL: expected $WHEEL_SHA256, got $actual" >&2
    exit 1
fi

"$python" - "$work/$WHEEL" "$work/lib" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith("onnxruntime/capi/libonnxruntime.so.")]
    if len(names) != 1:
        sys.exit(f"error: expected one libonnxruntime.so.* in the wheel, found {names}")
    z.extract(names[0], out)
    print(names[0])
PY

mkdir -p "$dest"
install -m 0755 "$work"/lib/onnxruntime/capi/libonnxruntime.so.* "$dest/libonnxruntime.so"
echo "$VERSION" > "$dest/VERSION"
echo "ONNX Runtime ${VERSION} installed: $dest/libonnxruntime.so (sha256 $(sha256sum "$dest/libonnxruntime.so" | cut -d' ' -f1))"
