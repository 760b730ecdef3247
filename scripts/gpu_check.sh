#!/usr/bin/env bash
# One run on a GPU machine (the device tool): the GPU tests and the generation benchmark with
# every fast-path mode; JSON goes to ${OUT:-outputs/bench}. Usage: bash scripts/gpu_check.sh
set -euo pipefail
out="${OUT:-outputs/bench}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv
python -m pytest -q -m gpu -p no:cacheprovider tests/test_fastpath.py
python scripts/bench_generate.py --device cuda --sizes tiny,small,base --batches 1,256 \
    --modes fp32,bf16,compile,compile_bf16,graphs --out "$out/generate_gpu.json"
python scripts/bench_overhead.py --device cuda --modes free --out "$out/overhead_gpu.json"
