"""The Gradio page of ``audiodiff ui``: a Generate tab and a Restore tab over
``audiodiff.ui.actions``. Requests queue one at a time (the models share the CPU), errors a
visitor causes show as messages in the page, and both actions are named API endpoints
(``gradio_client.Client(url).predict(..., api_name="/generate")``)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping

import gradio as gr

from audiodiff.errors import AudioDiffError
from audiodiff.restore.restorer import TASKS
from audiodiff.sampling import SAMPLERS
from audiodiff.ui.actions import ANY, GenerateRequest, RestoreRequest, Workspace, generate, restore
from audiodiff.ui.uploads import Limits

log = logging.getLogger("audiodiff.ui")
QUEUE = "model"  # one concurrency group: one request at a time, across both tabs


def _guarded(fn: Callable) -> Callable:
    """fn with every exception turned into a message in the page: a user's mistake as its
    one line, anything else named by type (the traceback goes to the server log only)."""

    @functools.wraps(fn)  # gradio reads fn's signature: its inputs and its gr.Progress
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AudioDiffError as e:
            raise gr.Error(str(e), print_exception=False) from None
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001 - shown as a message, logged in full
            log.exception("request failed")
            message = f"internal error ({type(e).__name__}: {e})"
            raise gr.Error(message, print_exception=False) from None

    return run


def _bar(progress: gr.Progress, what: str) -> Callable[[int, int], None]:
    return lambda done, total: progress((done, total), desc=what)


def build_app(
    generators: Mapping[str, Callable[[], object]] | None,
    restorer: Callable[[], object] | None,
    work: Workspace,
    limits: Limits,
    generator_info: object | None = None,
) -> gr.Blocks:
    """The page. ``generators``: decoder name -> a function returning the generation
    pipeline with that decoder (the first is the default; called on first use);
    ``restorer`` returns the restoration pipeline; ``generator_info`` is a loaded
    generation pipeline whose labels, text and sampler settings lay out the Generate tab.
    A tab whose model is missing says how to add it."""
    limits.check()
    with gr.Blocks(title="audiodiff") as app:
        gr.Markdown("# audiodiff\nGenerate clips from a trained model, or restore a recording.")
        with gr.Tab("Generate", id="generate"):
            if generators and generator_info is not None:
                _generate_tab(generators, generator_info, work, limits)
            else:
                gr.Markdown("No generation model: start with `audiodiff ui ckpt=MODEL`.")
        with gr.Tab("Restore", id="restore"):
            if restorer is not None:
                _restore_tab(restorer, work, limits)
            else:
                gr.Markdown("No restoration model: start with `audiodiff ui restore_ckpt=MODEL`.")
    app.queue(default_concurrency_limit=1, max_size=16)
    return app


def _generate_tab(generators, pipe, work: Workspace, limits: Limits) -> None:
    sampler_cfg = pipe.config.get("sampler") or {}
    with gr.Row():
        with gr.Column():
            labels = [
                gr.Dropdown([ANY, *values], value=ANY, label=name, elem_id=f"label-{name}")
                for name, values in pipe.labels.items()
            ]
            prompt = gr.Textbox(label="prompt", visible=pipe.text, elem_id="prompt")
            negative = gr.Textbox(label="negative prompt", visible=pipe.text, elem_id="negative")
            crop = float((pipe.config.get("data") or {}).get("segment_seconds") or 2.0)
            seconds = gr.Number(
                min(crop, limits.max_seconds), label="seconds", minimum=0.05,
                maximum=limits.max_seconds, elem_id="seconds",
            )  # fmt: skip
            with gr.Row():
                sampler = gr.Dropdown(
                    sorted(SAMPLERS), value=sampler_cfg.get("name", "dpmpp_2m"), label="sampler"
                )
                steps = gr.Number(
                    int(sampler_cfg.get("steps", 20)), label="steps", precision=0, minimum=1,
                    maximum=limits.max_steps, elem_id="steps",
                )  # fmt: skip
                guidance = sampler_cfg.get(
                    "cfg_scale", 2.0 if pipe.conditioned else 1.0
                )  # as generate
                cfg = gr.Number(float(guidance), label="CFG scale")
            with gr.Row():
                seed = gr.Number(0, label="seed", precision=0, minimum=0, elem_id="seed")
                n = gr.Number(1, label="clips", precision=0, minimum=1, maximum=limits.max_clips)
                decoder = gr.Dropdown(
                    list(generators), value=next(iter(generators)), label="decoder"
                )
            with gr.Accordion("variation / inpainting (from an audio file)", open=False):
                init = gr.Audio(type="filepath", sources=["upload"], label="init audio",
                                elem_id="init")  # fmt: skip
                strength = gr.Slider(0, 1, 0.5, step=0.05, label="variation strength")
                with gr.Row():
                    mask_start = gr.Number(0, label="inpaint from (s)", minimum=0)
                    mask_end = gr.Number(0, label="inpaint to (s; 0: no inpainting)", minimum=0)
            button = gr.Button("Generate", variant="primary", elem_id="generate-button")
        with gr.Column():
            status = gr.Markdown(elem_id="generate-status")
            players = [
                gr.Audio(
                    label=f"clip {i + 1}",
                    visible=i == 0,
                    elem_id=f"generate-audio-{i}",
                    interactive=False,
                )  # fmt: skip
                for i in range(limits.max_clips)
            ]
            clips = gr.File(label="clips", file_count="multiple", elem_id="generate-clips",
                            interactive=False)  # fmt: skip
            sheet = gr.Image(label="spectrograms", type="filepath", elem_id="generate-sheet",
                             interactive=False)  # fmt: skip
            archive = gr.File(label="download: WAVs + metadata.csv", elem_id="generate-zip",
                              interactive=False)  # fmt: skip
            send = gr.Button("send clip 1 to init audio", elem_id="send-to-init")

    names = list(pipe.labels)

    @_guarded
    def run(*values, progress=gr.Progress()):
        (*label_values, text, neg, secs, smp, stp, scale, sd, count, dec, ini, st, m0, m1) = values
        req = GenerateRequest(
            labels=dict(zip(names, label_values, strict=True)), prompt=text or "",
            negative_prompt=neg or "", seconds=secs, sampler=smp, steps=stp, cfg_scale=scale,
            seed=sd, n=count, init=ini, strength=st, mask_start=m0, mask_end=m1,
        )  # fmt: skip
        if dec not in generators:
            raise gr.Error(f"decoder must be one of {', '.join(generators)}")
        result = generate(generators[dec](), work, limits, req, _bar(progress, "solver steps"))
        wavs = [str(w) for w in result.wavs]
        return result.summary, wavs, str(result.sheet), str(result.archive)

    def show(wavs):  # the players: one per clip, the rest hidden
        wavs = list(wavs or [])
        return [
            gr.Audio(value=wavs[i] if i < len(wavs) else None, visible=i < len(wavs))
            for i in range(limits.max_clips)
        ]

    inputs = [*labels, prompt, negative, seconds, sampler, steps, cfg, seed, n, decoder, init,
              strength, mask_start, mask_end]  # fmt: skip
    outputs = [status, clips, sheet, archive]
    event = button.click(run, inputs, outputs, api_name="generate", concurrency_id=QUEUE)
    event.then(show, clips, players, api_name=False, queue=False)
    send.click(lambda clip: clip, players[0], init, api_name=False)


def _restore_tab(restorer, work: Workspace, limits: Limits) -> None:
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(type="filepath", sources=["upload"], label="recording",
                             elem_id="restore-input")  # fmt: skip
            task = gr.Radio(list(TASKS), value="denoise", label="task", elem_id="task")
            with gr.Row():
                steps = gr.Number(0, label="steps (0: the default)", precision=0, minimum=0)
                seed = gr.Number(0, label="seed", precision=0, minimum=0)
            with gr.Row():
                cutoff = gr.Number(4000, label="bandwidth: cut-off (Hz)", minimum=0)
                level = gr.Number(0, label="declip: clip level (0: the peak)", minimum=0)
            gaps = gr.Textbox(label="inpaint: gaps START:END, ... (s; empty: runs of zeros)")
            reference = gr.Audio(type="filepath", sources=["upload"],
                                 label="clean reference (optional, for scores)",
                                 elem_id="restore-reference")  # fmt: skip
            button = gr.Button("Restore", variant="primary", elem_id="restore-button")
        with gr.Column():
            status = gr.Markdown(elem_id="restore-status")
            with gr.Row():
                a = gr.Audio(label="A: input (matched loudness)", interactive=False,
                             elem_id="restore-a")  # fmt: skip
                b = gr.Audio(label="B: restored (matched loudness)", interactive=False,
                             elem_id="restore-b")  # fmt: skip
            sheet = gr.Image(label="before / after", type="filepath", elem_id="restore-sheet",
                             interactive=False)  # fmt: skip
            scores = gr.Markdown(elem_id="restore-scores")
            restored = gr.File(label="download: restored WAV (float)", elem_id="restore-file",
                               interactive=False)  # fmt: skip
            send = gr.Button("send output to input", elem_id="send-to-input")

    @_guarded
    def run(wav, tsk, stp, sd, cut, lvl, gp, ref, progress=gr.Progress()):
        req = RestoreRequest(audio=wav, task=tsk, steps=stp, cutoff_hz=cut, clip_level=lvl,
                             gaps=gp or "", reference=ref, seed=sd)  # fmt: skip
        result = restore(restorer(), work, limits, req, _bar(progress, "chunks"))
        return (result.summary, str(result.input_ab), str(result.output_ab), str(result.sheet),
                result.scores, str(result.restored))  # fmt: skip

    button.click(run, [audio, task, steps, seed, cutoff, level, gaps, reference],
                 [status, a, b, sheet, scores, restored], api_name="restore",
                 concurrency_id=QUEUE)  # fmt: skip
    send.click(lambda f: f, restored, audio, api_name=False)
