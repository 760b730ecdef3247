"""`audiodiff ui`'s refusals: one line and exit code 2, before any server starts."""

from __future__ import annotations

import sys

import pytest

from audiodiff.cli.main import main


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give ckpt= (generation), restore_ckpt= (restoration) or both"),
        (["ckpt=MODEL", "port=0"], "port must be in 1..65535, got 0"),
        (["ckpt=MODEL", "limits.max_clips=0"], "limits.max_clips must be > 0, got 0"),
        (["ckpt=/no/such/model"], "/no/such/model"),
    ],
)
def test_refusals(ui_models, capsys, args, message):
    args = [a.replace("MODEL", str(ui_models.generator)) for a in args]
    assert main(["ui", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_without_gradio_it_says_which_extra(ui_models, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio -> ImportError
    monkeypatch.delitem(sys.modules, "audiodiff.ui.app", raising=False)
    assert main(["ui", f"ckpt={ui_models.generator}"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'audiodiff[ui]'" in err and "gradio" in err


def test_a_port_in_use_is_one_line(ui_models, capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["ui", f"ckpt={ui_models.generator}", f"port={port}"]) == 2
    err = capsys.readouterr().err.strip()
    expected = f"port {port} on 127.0.0.1 is in use or not allowed; choose another port="
    assert err == f"audiodiff: error: {expected}"
