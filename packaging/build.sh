#!/usr/bin/env bash
# Build the BeatScope bundle, dist/beatscope/ (run `dist/beatscope/beatscope`), from a
# fresh virtual environment, so that nothing of a developer's venv leaks in:
#   packaging/build.sh            reuse build/venv when it is there (faster rebuilds)
#   packaging/build.sh --fresh    recreate build/venv first
#   EXTRA_PACKAGES="scikit-learn" packaging/build.sh    install more into build/venv
# PYTHON picks the interpreter (default python3; it needs its shared libpython, which
# PyInstaller bundles). CPU only: packaging/constraints-cpu.txt caps torch at the CPU
# build, and the bundle is checked for CUDA libraries at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=build/venv
PYTHON=${PYTHON:-python3}

if [[ "${1:-}" == "--fresh" ]]; then
    rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
# not editable: the bundle must hold the installed package, not a link to this tree.
# EXTRA_PACKAGES: more to install (a dependency the code uses before pyproject.toml
# declares it); the smoke test (tests/test_packaging.py) finds what is missing.
# shellcheck disable=SC2086
"$VENV/bin/pip" install --quiet -c packaging/constraints-cpu.txt . pyinstaller ${EXTRA_PACKAGES:-}

# CUDA runtimes arrive with a CUDA torch (nvidia-*) and triton; a CPU bundle must not
# carry them (GBs, and they would be loaded for nothing)
cuda_dists=$("$VENV/bin/pip" list --format=freeze | grep -iE '^(nvidia-|triton)' | cut -d= -f1 || true)
if [[ -n "$cuda_dists" ]]; then
    echo "build.sh: removing CUDA packages from the build venv: $cuda_dists"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" uninstall --quiet -y $cuda_dists
fi

"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/beatscope.spec

cuda_libs=$(find dist/beatscope \( -name 'libcu*' -o -name 'libnv*' -o -name 'libtorch_cuda*' \) -print)
if [[ -n "$cuda_libs" ]]; then
    echo "build.sh: error: CUDA libraries in the CPU bundle:" >&2
    echo "$cuda_libs" >&2
    exit 1
fi
du -sh dist/beatscope
dist/beatscope/beatscope --version
