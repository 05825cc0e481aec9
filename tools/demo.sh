#!/usr/bin/env bash
# The main job on the shipped data: PCD pre-training of a ResNet-18 on data/coco_mini, on the CPU.
# Usage: bash tools/demo.sh [train.py args...]      (after bash tools/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" tools/train.py configs/pcd_r18_demo.py "$@"
