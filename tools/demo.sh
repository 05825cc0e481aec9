#!/usr/bin/env bash
# The main job on the shipped data: PCD pre-training of a ResNet-18 on data/coco_mini, on the CPU.
# Usage: bash tools/demo.sh [train.py args...]      (after bash tools/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
TEACHER=work_dirs/teachers/mocov3_r50_random.pth.tar
[ -f "$TEACHER" ] || "$PY" tools/misc/make_random_teacher.py "$TEACHER"
exec "$PY" tools/train.py configs/pcd_r18_demo.py "$@"
