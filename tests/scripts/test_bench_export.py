"""scripts/bench_export.py --quick: every graph gets a row, and onnxruntime agrees with torch."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnx", reason="the export needs onnx (pip install 'audiodiff[onnx]')")
pytest.importorskip("onnxscript", reason="the export needs onnxscript")
pytest.importorskip("onnxruntime", reason="the parity checks need onnxruntime")

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.mark.slow
def test_bench_export_quick(tmp_path):
    sys.path.insert(0, str(SCRIPTS))  # for `benchlib`
    spec = importlib.util.spec_from_file_location("bench_export", SCRIPTS / "bench_export.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "export.json"
    bench.main(["--quick", "--shapes", "1x8,2x16", "--repeats", "1", "--out", str(out)])
    graphs = json.loads(out.read_text())["graphs"]
    assert len(graphs) == 7
    for name, m in graphs.items():
        assert max(m["diff"]) <= 1e-3 * max(1.0, m["peak"]), name
