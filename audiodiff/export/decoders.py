"""Exportable copies of the decoders: each representation's ``decode`` with its inverse STFT
(and, for Griffin-Lim, its STFT) as the convolutions of ``audiodiff.audio.conv_stft``.

Nothing here changes the decoders the torch code runs: a graph wraps the trained module (or
a copy of it) and redoes only what ONNX cannot hold: the inverse STFT with the vocoder's
phase sum before it, Snake's copysign, Griffin-Lim's random start (an input). Each graph's
output equals the representation's ``decode`` to float32 rounding, Griffin-Lim's to ~1e-4
of its peak (tests/export/test_decoder_graphs.py).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from audiodiff.audio.conv_stft import ConvISTFT, ConvSTFT
from audiodiff.audio.mel import MelRepresentation
from audiodiff.audio.representation import Representation
from audiodiff.audio.stft_representation import StftRepresentation
from audiodiff.codecs.autoencoder import LatentRepresentation, Snake
from audiodiff.codecs.decoders import VocodedMel
from audiodiff.codecs.mel_decoder import MelWaistDecoder
from audiodiff.codecs.vocoder import VocosVocoder
from audiodiff.errors import ConfigError


class VocoderGraph(nn.Module):
    """``VocosVocoder.forward`` with ``ConvISTFT``: mel [B, n_mels, T] -> wav [B, 1, T * hop].

    The trunk, head and magnitude prior run as they are; the phase and ``synthesize`` are
    redone with real tensors (no complex op enters the graph) and with the running phase
    kept as torch computes it on the CPU: its ``cumsum`` accumulates float32 in float64, and
    onnxruntime's CumSum does not, which drifts by ~1e-3 rad after a few hundred frames
    (measured: 6e-3 at 500 frames on a wave peaking at 15); the sum is taken in float64 and
    rounded to float32 as torch's is, and cos/sin of that float32 phase are taken in float64
    so that large phases lose nothing. ``phase="locked"`` loops over frames in Python
    (``phase_lock.locked_phase``), which a graph with a dynamic frame count cannot hold: such
    a vocoder is refused.
    """

    def __init__(self, vocoder: VocosVocoder) -> None:
        super().__init__()
        if vocoder.phase == "locked":
            raise ConfigError(
                "a phase=locked vocoder does not export to ONNX (its peak-locked phase loops "
                "over frames); decode it with the torch pipeline"
            )
        self.vocoder = vocoder
        self.istft = ConvISTFT(vocoder.n_fft, vocoder.hop_length, vocoder.window)

    def spectrum(self, mel: Tensor) -> tuple[Tensor, Tensor]:
        """``VocosVocoder.spectrum`` (mel [B, M, T] -> log-magnitude, phase [B, F, T]) with
        its phase sum in float64 (class doc)."""
        v = self.vocoder
        out = v.head(v.trunk(mel)).transpose(1, 2).float()  # [B, 2F, T]
        log_magnitude, phase = out.chunk(2, dim=1)
        if v.magnitude_prior:
            log_magnitude = log_magnitude + v.prior_log_magnitude(mel)
        if v.phase == "increment":
            step = torch.remainder(phase + v.bin_advance, 2 * math.pi)
            phase = torch.cumsum(step.double(), dim=-1).float()
        return log_magnitude, phase

    def forward(self, mel: Tensor) -> Tensor:
        # mel: [B, n_mels, T] -> wav: [B, 1, T * hop]
        log_magnitude, phase = self.spectrum(mel)
        mag = torch.exp(log_magnitude.clamp(max=self.vocoder.max_log_magnitude))
        phase = phase.double()
        real, imag = mag * torch.cos(phase).float(), mag * torch.sin(phase).float()
        return self.istft(real, imag).unsqueeze(1)


class MelWaistGraph(nn.Module):
    """``MelWaistDecoder`` with its vocoder as a ``VocoderGraph``: z -> mel -> wav."""

    def __init__(self, decoder: MelWaistDecoder) -> None:
        super().__init__()
        self.decoder = decoder
        self.vocoder = VocoderGraph(decoder.vocoder)

    def forward(self, z: Tensor) -> Tensor:
        # z: [B, latent_dim, T] -> wav: [B, 1, T * hop]
        return self.vocoder(self.decoder.to_mel(z))


class GraphSnake(nn.Module):
    """``Snake`` at inference (``autoencoder._snake_inference``) with its copysign, which has
    no ONNX form, written as a where: x + sin^2(alpha x) / alpha, |alpha| floored at 1e-9."""

    def __init__(self, snake: Snake) -> None:
        super().__init__()
        self.alpha = snake.alpha

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, C, T] -> [B, C, T]
        alpha = self.alpha
        tiny = torch.where(alpha < 0, -1e-9, 1e-9).to(alpha.dtype)
        a = torch.where(alpha.abs() < 1e-9, tiny, alpha)
        return x + torch.sin(x * alpha).square() * a.reciprocal()


def exportable_copy(module: nn.Module) -> nn.Module:
    """A copy of a decoder with its ``Snake``s as ``GraphSnake``s (the same function).

    Weight norm stays a parametrization (traced as ops on the weights, folded by
    onnxruntime at load): removing it from a deep copy would remove it from the original
    too, whose generated class the copy shares (torch 2.13)."""
    module = copy.deepcopy(module)
    for m in list(module.modules()):
        for name, child in m.named_children():
            if isinstance(child, Snake):
                setattr(m, name, GraphSnake(child))
    return module


class LatentDecoderGraph(nn.Module):
    """``LatentRepresentation.decode``: x [B, latent_dim, T] -> wav [B, 1, T * hop].

    The normalisation is undone as there; the decoder is an ``exportable_copy`` of the conv
    stack, or a ``VocoderGraph`` / ``MelWaistGraph`` for ``decoder="istft"`` / ``"mel"``."""

    def __init__(self, latent: LatentRepresentation) -> None:
        super().__init__()
        decoder = exportable_copy(latent.autoencoder.decoder)
        if isinstance(decoder, VocosVocoder):
            decoder = VocoderGraph(decoder)
        elif isinstance(decoder, MelWaistDecoder):
            decoder = MelWaistGraph(decoder)
        self.decoder = decoder
        self.register_buffer("mean", latent.latent_mean.detach().clone()[:, None])
        self.register_buffer("std", latent.latent_std.detach().clone()[:, None])

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, latent_dim, T] -> wav: [B, 1, T * hop]
        return self.decoder(x * self.std + self.mean)


class StftDecoderGraph(nn.Module):
    """``StftRepresentation.decode`` in real arithmetic: x [B, 2F, T] -> wav [B, 1, T * hop]."""

    def __init__(self, rep: StftRepresentation) -> None:
        super().__init__()
        self.bins = rep.n_bins
        self.scale = rep.scale
        self.exponent = 1 / rep.alpha - 1
        self.floor = rep.eps**rep.alpha
        self.istft = ConvISTFT(rep.n_fft, rep.hop_length, rep.window)

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, 2F, T] -> wav: [B, 1, T * hop]; X = Z max(|Z|, eps^a)^(1/a - 1), Z = Y / c
        real, imag = x[:, : self.bins] / self.scale, x[:, self.bins :] / self.scale
        gain = torch.sqrt(real.square() + imag.square()).clamp_min(self.floor) ** self.exponent
        return self.istft(real * gain, imag * gain).unsqueeze(1)


def _unit(real: Tensor, imag: Tensor) -> tuple[Tensor, Tensor]:
    """exp(i angle(z)) of z = real + i imag without atan2 (ONNX has none): z / |z|, 1 at 0."""
    norm = torch.sqrt(real.square() + imag.square())
    nonzero = norm > 0
    safe = torch.where(nonzero, norm, torch.ones_like(norm))
    return torch.where(nonzero, real / safe, torch.ones_like(real)), imag / safe


class GriffinLimGraph(nn.Module):
    """``MelRepresentation.decode`` (NNLS mel inverse, then fast Griffin-Lim with its fixed
    iterations and momentum) with ``ConvSTFT`` / ``ConvISTFT``.

    x: [B, n_mels, T], phase: [F, T + 1] uniform in [0, 1) -> wav: [B, 1, T * hop]. The
    starting phase is an input: the torch decoder draws it with ``torch.rand`` from a
    generator seeded with the representation's ``seed``, and ``phase`` must be those
    numbers for the same audio (``audiodiff.export.runtime`` draws them so); any other
    uniform phase gives an equally valid, different reconstruction.
    """

    def __init__(self, mel: MelRepresentation) -> None:
        super().__init__()
        self.mel = mel
        self.iterations = mel.griffin_lim_iters
        self.momentum = mel.griffin_lim_momentum
        self.hop_length = mel.hop_length
        self.stft = ConvSTFT(mel.n_fft, mel.hop_length, mel.window)
        self.istft = ConvISTFT(mel.n_fft, mel.hop_length, mel.window)

    def forward(self, x: Tensor, phase: Tensor) -> Tensor:
        # x: [B, M, T], phase: [F, T + 1] -> wav: [B, 1, T * hop]  (FGLA, Perraudin et al. 2013)
        mag = self.mel.to_linear_magnitude(self.mel.to_mel_magnitude(x))
        mag = torch.cat([mag, mag[..., -1:]], dim=-1)  # [B, F, T + 1]
        length = x.shape[-1] * self.hop_length
        angle = 2 * math.pi * phase
        real, imag = mag * torch.cos(angle), mag * torch.sin(angle)
        prev_real, prev_imag = torch.zeros_like(real), torch.zeros_like(imag)
        for _ in range(self.iterations):
            u_real, u_imag = _unit(real, imag)
            c_real, c_imag = self.stft(self.istft(mag * u_real, mag * u_imag, length))
            real = c_real + self.momentum * (c_real - prev_real)
            imag = c_imag + self.momentum * (c_imag - prev_imag)
            prev_real, prev_imag = c_real, c_imag
        u_real, u_imag = _unit(real, imag)
        return self.istft(mag * u_real, mag * u_imag, length).unsqueeze(1)


@dataclass(frozen=True)
class DecoderGraph:
    """A decoder graph, its kind (for the export's README) and whether it reads ``phase``."""

    module: nn.Module
    kind: str
    takes_phase: bool = False


def decoder_graph(representation: Representation) -> DecoderGraph:
    """The exportable decoder of a model's representation (its ``decode``, as trained)."""
    if isinstance(representation, VocodedMel):
        return DecoderGraph(VocoderGraph(representation.vocoder), "vocoder")
    if isinstance(representation, LatentRepresentation):
        return DecoderGraph(LatentDecoderGraph(representation), "autoencoder")
    if isinstance(representation, StftRepresentation):
        return DecoderGraph(StftDecoderGraph(representation), "stft")
    if isinstance(representation, MelRepresentation):
        return DecoderGraph(GriffinLimGraph(representation), "griffinlim", takes_phase=True)
    raise ConfigError(f"no ONNX decoder for a {type(representation).__name__} representation")
