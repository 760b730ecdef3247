"""The Gradio page through its API (gradio_client), in-process: named endpoints, files that
decode, errors as one-line messages, one request at a time."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

gr = pytest.importorskip("gradio", reason="the web UI needs gradio (pip install 'audiodiff[ui]')")
client_lib = pytest.importorskip("gradio_client")

from audiodiff.audio.io import info  # noqa: E402
from audiodiff.pipeline import load  # noqa: E402
from audiodiff.ui.actions import Workspace  # noqa: E402
from audiodiff.ui.app import build_app  # noqa: E402
from audiodiff.ui.uploads import Limits  # noqa: E402


class Overlap:
    """Counts requests running at once through the wrapped methods."""

    def __init__(self) -> None:
        self.active = self.most = 0
        self.lock = threading.Lock()

    def wrap(self, fn):
        def run(*args, **kwargs):
            with self.lock:
                self.active += 1
                self.most = max(self.most, self.active)
            try:
                time.sleep(0.3)  # long enough for a second request to start if it could
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.active -= 1

        return run


@pytest.fixture(scope="module")
def served(ui_models, tmp_path_factory, ports):
    gen, res = load(ui_models.generator, "cpu"), load(ui_models.restorer, "cpu")
    overlap = Overlap()
    gen.sample, res.restore = overlap.wrap(gen.sample), overlap.wrap(res.restore)
    work = Workspace(tmp_path_factory.mktemp("ui_work"))
    app = build_app({"model's own": lambda: gen}, lambda: res, work, Limits(max_clips=3), gen)
    port = ports()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
               allowed_paths=[str(work.root)])  # fmt: skip
    client = client_lib.Client(f"http://127.0.0.1:{port}/", verbose=False)
    yield client, gen, overlap
    app.close()


def generate_args(seconds=0.5, instrument="organ", n=2):
    # labels (instrument, pitch), prompt, negative, seconds, sampler, steps, cfg, seed, n,
    # decoder, init, strength, mask start, mask end
    return [instrument, "(any)", "", "", seconds, "euler", 2, 1.0, 3, n, "model's own", None,
            0.5, 0, 0]  # fmt: skip


def test_named_endpoints(served):
    client, _, _ = served
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/generate", "/restore"} <= set(endpoints)


def test_generate_through_the_api(served):
    client, gen, _ = served
    out = client.predict(*generate_args(), api_name="/generate")
    summary, clips, sheet, archive = out
    assert summary.startswith("generate: 2 clip(s) of 0.50 s")
    assert [info(c).frames for c in clips] == [round(0.5 * gen.sample_rate)] * 2
    assert str(sheet).endswith(".png") and str(archive).endswith(".zip")


def test_errors_are_one_line_messages(served, recording):
    client, _, _ = served
    with pytest.raises(client_lib.exceptions.AppError) as e:  # refused by the dropdown
        client.predict(*generate_args(instrument="tuba"), api_name="/generate")
    assert "tuba is not in the list of choices" in str(e.value)
    args = generate_args()
    args[-1] = 1.0  # mask end without an init file: refused by the action
    with pytest.raises(client_lib.exceptions.AppError) as e:
        client.predict(*args, api_name="/generate")
    assert str(e.value) == "mask start / end edit an init audio file: upload one"
    with pytest.raises(client_lib.exceptions.AppError, match="needs the cut-off"):
        client.predict(client_lib.handle_file(str(recording)), "bandwidth", 0, 0, 0, 0, "", None,
                       api_name="/restore")  # fmt: skip


def test_requests_queue_one_at_a_time(served, recording):
    client, _, overlap = served
    upload = client_lib.handle_file(str(recording))
    jobs = [client.submit(*generate_args(n=1), api_name="/generate") for _ in range(2)]
    jobs.append(client.submit(upload, "denoise", 0, 0, 4000, 0, "", None, api_name="/restore"))
    results = [job.result(timeout=120) for job in jobs]
    assert all(r[0] for r in results)
    assert overlap.most == 1  # never two requests in the models at once


@pytest.fixture(scope="module")
def text_served(tiny, tmp_path_factory, ports):
    root = tmp_path_factory.mktemp("ui_text")
    pipe = load(tiny.model_folder(root / "model", tiny.model_config(text=True)), "cpu")
    work = Workspace(root / "work")
    app = build_app({"model's own": lambda: pipe}, None, work, Limits(), pipe)
    port = ports()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
               allowed_paths=[str(work.root)])  # fmt: skip
    yield client_lib.Client(f"http://127.0.0.1:{port}/", verbose=False)
    app.close()


def test_bad_input_gives_a_message_and_the_app_keeps_serving(served, text_served, tmp_path):
    import soundfile as sf

    client, _, _ = served
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    long = tmp_path / "two_hours.flac"  # 2 h of silence: a small file, a long recording
    with sf.SoundFile(long, "w", samplerate=8000, channels=1, format="FLAC") as f:
        block = np.zeros(8000 * 60, dtype=np.float32)
        for _ in range(120):
            f.write(block)
    restore_args = ["denoise", 0, 0, 4000, 0, "", None]
    cases = [
        (text, "recording: notes.wav: unreadable or corrupt audio file"),
        (long, "recording: two_hours.flac is 7200.0 s long; the limit is 60 s"),
    ]
    for upload, message in cases:
        with pytest.raises(client_lib.exceptions.AppError) as e:
            client.predict(client_lib.handle_file(str(upload)), *restore_args,
                           api_name="/restore")  # fmt: skip
        assert str(e.value).startswith(message) and "Traceback" not in str(e.value)
    text_client = text_served
    # labels left at (any), prompt, negative prompt, seconds, sampler, steps, cfg, seed,
    # clips, decoder, init, strength, mask start, mask end
    args = ["(any)", "(any)", "", "", 0.25, "euler", 2, 2.0, 0, 1, "model's own", None, 0.5, 0,
            0]  # fmt: skip
    with pytest.raises(client_lib.exceptions.AppError, match="trained on text prompts"):
        text_client.predict(*args, api_name="/generate")
    args[2] = "a soft bell"  # and the same app serves the next request
    summary, clips, _, _ = text_client.predict(*args, api_name="/generate")
    assert summary.startswith("generate: 1 clip(s)") and len(clips) == 1
    assert client.predict(*generate_args(n=1), api_name="/generate")[0].startswith("generate")


def test_the_guard_keeps_the_signature_gradio_reads():
    """gradio finds its inputs and the gr.Progress tracker in the handler's signature; a
    wrapper that hid it (*args, **kwargs) left the page's progress bar dead."""
    import inspect

    from audiodiff.ui.app import _guarded

    def handler(a, b, progress=gr.Progress()):
        return a

    params = inspect.signature(_guarded(handler)).parameters
    assert list(params) == ["a", "b", "progress"]
    assert isinstance(params["progress"].default, gr.Progress)
