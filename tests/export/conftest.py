"""The ONNX exports the parity, runtime and CLI tests share (built once per session), of the
tiny models of tests/conftest.py (the `tiny` fixture)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture(scope="session")
def edm_export(tmp_path_factory, tiny) -> SimpleNamespace:
    """An EDM model with labels and timing, decoded by a vocoder: its model folder and its
    ONNX export, written by `audiodiff export` (so the CLI's success path runs once)."""
    pytest.importorskip("onnx", reason="the export needs onnx (pip install 'audiodiff[onnx]')")
    pytest.importorskip("onnxscript", reason="the export needs onnxscript")
    pytest.importorskip("onnxruntime", reason="the parity checks need onnxruntime")
    from audiodiff.cli.main import main

    tmp = tmp_path_factory.mktemp("edm_export")
    vocoder = tiny.vocoder_folder(tmp / "vocoder")
    config = tiny.model_config(timing=True, decoder=tiny.vocoder_decoder(vocoder))
    model = tiny.model_folder(tmp / "model", config)
    assert main(["export", f"ckpt={model}", "format=onnx", f"out={tmp / 'onnx'}"]) == 0
    return SimpleNamespace(model=model, onnx=tmp / "onnx", vocoder=vocoder, root=tmp)
