"""Restore a recording with a trained model: the two routes behind one function.

Route 1, a conditional model (trained with ``observation: true``): the net reads the
degraded recording's features as ``cond["obs"]``; sampling starts from the observation plus
noise at ``sigma_start`` (as SGMSE+ / StoRM do) and runs ``steps`` solver steps. One Euler
step from a large ``sigma_start`` is the predictive mode, D(y + sigma n, sigma, obs) ~ E[x0 |
y], and the default: on the CPU recipes more steps score worse (docs/restoration.md).

Route 2, any prior (a model that never saw degradations): the observation becomes a denoiser
wrapper (``audiodiff.restore.posterior``): data consistency for gaps, the low band and the
unclipped samples (decode, project, encode again: exact for stft, through Griffin-Lim's
phase for mels), or reconstruction guidance through a decoder that declares itself
``differentiable``; denoising is SDEdit (partial noising).

A gap-filling model trained with ``data.observation_fill=lpc`` reads the recording with its
gaps filled by linear prediction, as it trained (``audiodiff.restore.gaps.prefill``).
For bandwidth extension, a model that carries a ``band_envelope`` (fitted on its training
clips, ``audiodiff.restore.envelope``) gets its new band scaled to the level predicted from
the observed band: the posterior mean alone is too quiet there.

Either way the result keeps what is trusted (``Observation.project``: the samples outside
gaps, the observed low band, the unclipped samples), and long files go in chunks
(``audiodiff.restore.chunking``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from audiodiff.audio.loudness import level_gain
from audiodiff.errors import ConfigError
from audiodiff.generation import sample, seeded_noise
from audiodiff.restore.chunking import process_in_chunks
from audiodiff.restore.envelope import BandEnvelope
from audiodiff.restore.gaps import prefill
from audiodiff.restore.operators import (
    Clipped,
    KnownSamples,
    LowBand,
    Observation,
    known_outside,
)
from audiodiff.restore.posterior import data_consistency, reconstruction_guidance

TASKS = ("denoise", "declip", "bandwidth", "inpaint")
# a conditional model's one step starts at this many sigma_data: on held-out clips the
# benchmarks do not score (docs/restoration.md), 20 beat 10 on denoising (+0.12 dB, +0.07
# PESQ) and declipping (+0.12 dB) and moved bandwidth extension and gap filling little
START_OVER_SIGMA_DATA = 20.0


@dataclass
class RestoreOptions:
    """How to restore; the defaults suit a conditional model on a 2-core CPU."""

    task: str = "denoise"
    sampler: str = "euler"
    steps: int | None = None  # None: 1 (conditional: predictive), 8 (SDEdit), 35 (prior)
    sigma_start: float | None = None  # None: 20 sigma_data (conditional), 0.5 (SDEdit), sigma_max
    sigma_min: float | None = None
    cutoff_hz: float | None = None  # bandwidth: the observed band's upper edge
    clip_level: float | None = None  # declip: None = the recording's peak
    min_gap_seconds: float = 0.01  # inpaint: runs of exact zeros at least this long are gaps
    gaps: list | None = None  # inpaint: [[start, end], ...] seconds; None: the zero runs
    fade_seconds: float = 0.005  # inpaint: crossfade from the kept samples into a filled gap
    guidance: float = 0.0  # > 0: reconstruction guidance, for differentiable decoders
    chunk_seconds: float = 4.0
    overlap_seconds: float = 0.5
    match_level: bool = True  # scale to the model's training level (data.loudness_db) and back
    band_level: bool = True  # bandwidth: the new band at the level the model's envelope predicts
    seed: int = 0

    def check(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        bad_steps = self.steps is not None and self.steps < 1
        if bad_steps or self.chunk_seconds <= 0 or self.overlap_seconds < 0:
            raise ConfigError("need steps >= 1, chunk_seconds > 0 and overlap_seconds >= 0")
        if self.sigma_start is not None and not self.sigma_start > 0:
            raise ConfigError(f"sigma_start must be > 0 or null, got {self.sigma_start}")
        if self.overlap_seconds >= self.chunk_seconds:
            raise ConfigError("overlap_seconds must be shorter than chunk_seconds")
        if self.task == "bandwidth" and not self.cutoff_hz:
            raise ConfigError("task=bandwidth needs cutoff_hz= (the observed band's upper edge)")
        if self.gaps is not None:
            if self.task != "inpaint":
                raise ConfigError(f"gaps= applies to task=inpaint, not task={self.task}")
            for span in self.gaps:
                ok = isinstance(span, list | tuple) and len(span) == 2
                if not ok or not 0 <= float(span[0]) < float(span[1]):
                    raise ConfigError(
                        f"gaps: each gap is [start, end] in seconds with 0 <= start < end, "
                        f"got {span!r}"
                    )

    def known(self, y: Tensor, sample_rate: int) -> Tensor:
        """inpaint: 1 where recording y [1, N] is known, 0 in its gaps (``gaps``, or runs of
        exact zeros at least ``min_gap_seconds`` long)."""
        if self.gaps is None:
            return ~zero_runs(y[None], round(self.min_gap_seconds * sample_rate))[0]
        known = known_outside(self.gaps, y.shape[-1], sample_rate)
        return known.to(y.device).expand_as(y).clone()


def observation_for(
    task: str, y: Tensor, sample_rate: int, opts: RestoreOptions, known: Tensor | None = None
) -> Observation | None:
    """What the degraded chunk y [1, 1, L] says about the clean one, for ``task``; inpaint
    reads the gaps from ``known`` [1, 1, L] (1 = known) when given."""
    if task == "inpaint":
        if known is None:
            known = opts.known(y[0], sample_rate)[None]
        return KnownSamples(y, known.bool())
    if task == "declip":
        level = opts.clip_level if opts.clip_level is not None else float(y.abs().max())
        return Clipped(y, max(level, 1e-6))
    if task == "bandwidth":
        return LowBand(y, float(opts.cutoff_hz), sample_rate)
    return None


def zero_runs(y: Tensor, min_length: int) -> Tensor:
    """True inside runs of exact zeros at least ``min_length`` long (the gaps)."""
    # y: [B, 1, N] -> bool [B, 1, N]
    zero = (y == 0).float()
    if min_length <= 1:
        return zero.bool()
    kernel = torch.ones(1, 1, min_length, dtype=zero.dtype)
    full = torch.nn.functional.conv1d(zero.flatten(0, 1)[:, None], kernel) >= min_length - 0.5
    covered = torch.nn.functional.conv_transpose1d(full.float(), kernel) > 0  # back to N
    return covered.view_as(y)


def _label_cond(pipe, task: str) -> dict[str, Tensor]:
    labels = {}
    if "task" in pipe.vocab.labels:
        labels["task"] = torch.tensor([pipe.vocab.encode("task", task)], device=pipe.device)
    return labels


def restore_chunk(
    pipe, y: Tensor, opts: RestoreOptions, seed: int, known: Tensor | None = None
) -> Tensor:
    """y: [1, 1, L] (L a multiple of the hop) at the model's rate -> restored [1, 1, L];
    ``known`` [1, 1, L]: inpaint's mask of known samples (None: ``opts.known``)."""
    rep = pipe.representation
    diffusion = pipe.config["diffusion"]
    y = y.to(pipe.device)
    conditional = bool(pipe.config.get("observation"))
    fill = (pipe.config.get("data") or {}).get("observation_fill")
    observed = y
    if conditional and fill and opts.task == "inpaint":  # the model reads the gaps so filled
        mask = known if known is not None else opts.known(y[0], rep.sample_rate)[None]
        observed = prefill(fill, y, rep.sample_rate, mask.to(y.device))
    obs_x = rep.encode(observed)  # [1, C, T]
    cond = _label_cond(pipe, opts.task)
    observe = None
    if conditional:
        cond["obs"] = obs_x
        sigma_data = float(diffusion["sigma_data"])
        start = START_OVER_SIGMA_DATA * sigma_data
        sigma_start = opts.sigma_start if opts.sigma_start is not None else start
        default_steps = 1  # measured best: more steps drift (docs/restoration.md)
    elif opts.task == "denoise":
        sigma_start = opts.sigma_start if opts.sigma_start is not None else 0.5
        default_steps = 8
    else:
        sigma_start = opts.sigma_start or float(diffusion["sigma_max"])  # checked > 0
        default_steps = 35  # as CQTdiff / BABE
        known = None if known is None else known.to(y.device)
        observation = observation_for(opts.task, y, rep.sample_rate, opts, known)
        differentiable = opts.guidance > 0 and getattr(rep, "differentiable", False)

        def observe(d, obs=observation):
            if differentiable:  # through a differentiable decoder (an autoencoder's)
                return reconstruction_guidance(d, obs, decode=rep.decode, scale=opts.guidance)
            # exact where decode(encode(w)) == w (stft); through Griffin-Lim's phase for mels
            return data_consistency(d, obs, decode=rep.decode, encode=rep.encode)

    noise = seeded_noise(tuple(obs_x.shape), [seed]).to(obs_x)
    start = obs_x / sigma_start + noise  # x = y + sigma_start * n  (SDEdit; SGMSE+'s start)
    if not conditional and opts.task != "denoise":
        start = noise  # a prior restoring gaps, clipping or bandwidth starts from noise
    x = sample(
        pipe._sampling_denoiser,
        tuple(obs_x.shape),
        cond=cond or None,
        sampler=opts.sampler,
        steps=opts.steps or default_steps,
        sigma_min=float(opts.sigma_min or diffusion["sigma_min"]),
        sigma_max=sigma_start,
        noise=start,
        seed=seed,
        device=pipe.device,
        observe=observe,
    )
    restored = rep.decode(x)[..., : y.shape[-1]]
    envelope = pipe.config.get("band_envelope")
    if opts.task == "bandwidth" and opts.band_level and envelope:
        restored = BandEnvelope.from_dict(envelope).apply(y, restored, float(opts.cutoff_hz))
    return restored


def keep_trusted(
    y: Tensor, restored: Tensor, sample_rate: int, opts: RestoreOptions, known=None
) -> Tensor:
    """The restored file made to agree with what the recording y says for sure: the samples
    outside gaps (crossfaded into each filled gap), the unclipped samples, the low band."""
    # y, restored, known: [1, 1, N] -> [1, 1, N]
    observation = observation_for(opts.task, y, sample_rate, opts, known)
    if isinstance(observation, KnownSamples):
        fade = round(opts.fade_seconds * sample_rate)
        observation = KnownSamples(observation.y, observation.mask, fade=fade)
    return observation.project(restored) if observation is not None else restored


def training_level_gain(pipe, y: Tensor, opts: RestoreOptions) -> float:
    """The gain that brings recording y [1, N] to the RMS level the model trained at
    (``data.loudness_db``), or 1. The compressed STFT is not scale-invariant (|X|^alpha), so a
    recording far louder or quieter than the training clips would be out of distribution."""
    target = (pipe.config.get("data") or {}).get("loudness_db")
    if not opts.match_level or target is None:
        return 1.0
    return float(level_gain(y.flatten(), float(target)))


def restore(pipe, wav: Tensor, opts: RestoreOptions, progress=None) -> Tensor:
    """wav: [C, N] at the model's rate -> restored [C, N]; each channel in chunks, each
    channel at the model's training level (``training_level_gain``) and scaled back after."""
    opts.check()
    hop = pipe.representation.hop_length
    chunk = max(hop, math.ceil(opts.chunk_seconds * pipe.sample_rate / hop) * hop)
    overlap = min(chunk - hop, round(opts.overlap_seconds * pipe.sample_rate))
    channels = []
    for c in range(wav.shape[0]):
        index = itertools.count()  # chunk i of channel c: seed + 1000 c + i

        y = wav[c : c + 1].float()
        gain = training_level_gain(pipe, y, opts)
        scaled = replace(
            opts, clip_level=None if opts.clip_level is None else opts.clip_level * gain
        )

        # inpaint: the mask of known samples travels through the chunks as a second channel
        known = opts.known(y, pipe.sample_rate) if opts.task == "inpaint" else None

        def one(piece: Tensor, c: int = c, index=index, o=scaled) -> Tensor:  # [1, 1|2, L]
            seed = opts.seed + 1000 * c + next(index)
            mask = piece[:, 1:] if piece.shape[1] == 2 else None
            out = restore_chunk(pipe, piece[:, :1], o, seed=seed, known=mask).cpu()
            return out if mask is None else torch.cat([out, mask], dim=1)

        stacked = y * gain if known is None else torch.cat([y * gain, known.float()])
        with torch.no_grad():
            restored = process_in_chunks(stacked, one, chunk, overlap, progress)[:1] / gain
        mask = None if known is None else known[None]
        channels.append(keep_trusted(y[None], restored[None], pipe.sample_rate, opts, mask)[0])
    return torch.cat(channels)
