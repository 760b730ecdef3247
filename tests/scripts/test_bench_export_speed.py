"""scripts/bench_export_speed.py --quick: every row and engine gets a positive speed (or a
torch.compile cell that says why it has none), in the JSON and the markdown table."""

import json
import math

import pytest

pytest.importorskip("onnx", reason="the export needs onnx (pip install 'audiodiff[onnx]')")
pytest.importorskip("onnxscript", reason="the export needs onnxscript")
pytest.importorskip("onnxruntime", reason="the onnxruntime rows need onnxruntime")


@pytest.mark.slow  # ~18 s: two exports and a compile; the default suite's budget is tight
def test_bench_export_speed_quick(load_script, tmp_path, monkeypatch, capsys):
    bench = load_script("bench_export_speed")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "speed.json"
    bench.main(["--quick", "--threads", "1", "--repeats", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["compile_backend"] == "eager"  # --quick's default: no inductor build
    rows = result["rows"]
    assert list(rows) == list(bench.ROWS)
    for name, row in rows.items():
        for engine in bench.ENGINES:
            m = row[engine]
            if "error" in m:  # only torch.compile may be missing, and it says why
                assert engine == "torch.compile", (name, engine, m)
                assert m["error"].startswith(("fails: ", "skipped: ")), (name, m)
                assert len(m["error"].split(": ", 1)[1]) > 0, (name, m)
                continue
            assert math.isfinite(m["value"]) and m["value"] > 0, (name, engine, m)
            assert math.isfinite(m["ms"]) and m["ms"] > 0, (name, engine, m)
    assert rows["denoiser batch 16"]["batch"] == 16
    assert rows["decoder 4 s"]["seconds"] == pytest.approx(4.0)
    assert math.isfinite(rows["generate 1 x 4 s"]["max |onnx - torch|"])
    printed = capsys.readouterr().out
    assert "| generate 1 x 4 s, dpmpp_2m 20 steps | x real time |" in printed


def test_one_line_reason(load_script):
    bench = load_script("bench_export_speed")
    error = RuntimeError("backend failed\n  a long traceback\n" + "x" * 500)
    assert bench.one_line(error) == "RuntimeError: backend failed"
    assert len(bench.one_line(RuntimeError("y" * 500))) == 160
    failed = bench.timed_compiled(lambda: 1 / 0, 1, 1.0)
    assert failed == {"error": "fails: ZeroDivisionError: division by zero"}
