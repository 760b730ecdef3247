"""Waveform autoencoder with a small KL bottleneck, and the latent ``Representation`` it gives.

A 1-D convolutional encoder (residual units + Snake + strided convs) maps a waveform to a
latent sequence at ``sample_rate / prod(strides)`` frames per second; a mirrored decoder with
transposed convs maps it back (the DAC layout, Kumar et al. 2023, without the quantiser), or,
with ``decoder="istft"``, a Vocos-style head runs at the latent frame rate and predicts the
STFT (hop = the encoder's hop) that an inverse STFT turns into samples (as Vocos decodes
EnCodec tokens, Siuzdak 2023): no full-rate layers, so it trains and decodes much faster.
``LatentRepresentation`` wraps a trained autoencoder plus latent normalisation statistics so
the diffusion model sees ~zero-mean, unit-variance latents.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from audiodiff.audio.mel import MelRepresentation
from audiodiff.audio.representation import Representation
from audiodiff.codecs.mel_decoder import MelWaistDecoder
from audiodiff.codecs.spectral_encoder import SpectralEncoder
from audiodiff.codecs.vocoder import VocosVocoder

Bottleneck = Literal["kl", "plain"]
DecoderKind = Literal["conv", "istft", "mel"]
EncoderKind = Literal["conv", "stft"]


def snake(x: Tensor, alpha: Tensor) -> Tensor:
    """x + sin^2(alpha x) / alpha (Ziyin et al. 2020), exact and smooth at alpha = 0.

    Written as x + alpha x^2 sinc^2(alpha x / pi), which equals the formula for alpha != 0 and
    its limit x (with d/dalpha = x^2) at alpha = 0, so no epsilon is needed for any sign.
    """
    # x: [B, C, T], alpha: [1, C, 1] -> [B, C, T]
    if not torch.is_grad_enabled():
        return _snake_inference(x, alpha)
    ax = alpha * x
    return x + ax * x * torch.sinc(ax / math.pi).square()


def _snake_inference(x: Tensor, alpha: Tensor) -> Tensor:
    """No-grad fast path: 4 passes over x, not 7; |alpha| floored at 1e-9 (error <= 1e-9 x^2)."""
    a = torch.where(alpha.abs() < 1e-9, torch.full_like(alpha, 1e-9).copysign(alpha), alpha)
    y = torch.mul(x, alpha).sin_().square_()
    return torch.addcmul(x, y, a.reciprocal())


class Snake(nn.Module):
    """Snake activation with a learnable per-channel frequency alpha (initialised to 1)."""

    def __init__(self, channels: int, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.full((1, channels, 1), float(alpha)))

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, C, T] -> [B, C, T]
        return snake(x, self.alpha)


def kl_to_standard_normal(mean: Tensor, logvar: Tensor) -> Tensor:
    """Mean per-element KL(N(mean, exp(logvar)) || N(0, 1)) (Kingma & Welling 2014, eq. 10)."""
    # mean, logvar: [B, C, T] -> scalar
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean()


def _conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    dilation: int = 1,
    padding: int = 0,
    weight_norm: bool,
) -> nn.Conv1d:
    conv = nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation, padding=padding)
    return _weight_norm(conv) if weight_norm else conv


class ResidualUnit(nn.Module):
    """x + conv1(snake(conv7_dilated(snake(x)))), length-preserving ("same" zero padding)."""

    def __init__(self, channels: int, dilation: int, *, weight_norm: bool = True) -> None:
        super().__init__()
        self.act1 = Snake(channels)
        self.conv1 = _conv(
            channels, channels, 7, dilation=dilation, padding=3 * dilation, weight_norm=weight_norm
        )
        self.act2 = Snake(channels)
        self.conv2 = _conv(channels, channels, 1, weight_norm=weight_norm)

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, C, T] -> [B, C, T]
        return x + self.conv2(self.act2(self.conv1(self.act1(x))))


class Downsample(nn.Module):
    """Strided conv, kernel 2s, padded by s in total so T -> T / s exactly when s divides T."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, *, weight_norm: bool = True
    ) -> None:
        super().__init__()
        self.pad = (stride - stride // 2, stride // 2)
        conv = nn.Conv1d(in_channels, out_channels, 2 * stride, stride=stride)
        self.conv = _weight_norm(conv) if weight_norm else conv

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, C_in, T] -> [B, C_out, T // s]
        return self.conv(F.pad(x, self.pad))


class Upsample(nn.Module):
    """Transposed conv, kernel 2s, cropped by s in total so T -> T * s exactly.

    The crop (ceil(s/2) left, floor(s/2) right) centres output frame t where ``Downsample``
    centred input frame t.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, *, weight_norm: bool = True
    ) -> None:
        super().__init__()
        self.crop = (stride - stride // 2, stride // 2)
        conv = nn.ConvTranspose1d(in_channels, out_channels, 2 * stride, stride=stride)
        self.conv = _weight_norm(conv) if weight_norm else conv

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, C_in, T] -> [B, C_out, T * s]
        y = self.conv(x)
        return y[..., self.crop[0] : y.shape[-1] - self.crop[1]]


class EncoderBlock(nn.Sequential):
    """Residual units at ``in_channels``, Snake, then a strided conv to ``out_channels``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        *,
        dilations: tuple[int, ...],
        weight_norm: bool = True,
    ) -> None:
        super().__init__(
            *[ResidualUnit(in_channels, d, weight_norm=weight_norm) for d in dilations],
            Snake(in_channels),
            Downsample(in_channels, out_channels, stride, weight_norm=weight_norm),
        )


class DecoderBlock(nn.Sequential):
    """Snake, a transposed conv to ``out_channels``, then residual units at ``out_channels``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        *,
        dilations: tuple[int, ...],
        weight_norm: bool = True,
    ) -> None:
        super().__init__(
            Snake(in_channels),
            Upsample(in_channels, out_channels, stride, weight_norm=weight_norm),
            *[ResidualUnit(out_channels, d, weight_norm=weight_norm) for d in dilations],
        )


class AudioAutoencoder(nn.Module):
    """Waveform autoencoder: wav [B, 1, N] <-> z [B, latent_dim, N / hop_length].

    Channel widths are ``channels * (1, *channel_mults)``: the encoder runs block i at width
    i and downsamples by ``strides[i]`` into width i + 1; the decoder mirrors it. With
    ``bottleneck="kl"`` the encoder predicts mean and log-variance of a diagonal Gaussian
    (trained with a small KL weight); with ``"plain"`` it predicts z directly.

    Lengths: for N a multiple of ``hop_length``, encode gives exactly N / hop frames and decode
    gives back N samples. Other N are zero-padded at the end to the next multiple (encode gives
    ceil(N / hop) frames) and ``forward`` crops the reconstruction back to N.

    Defaults (1.86M parameters, hop 256 = 62.5 frames/s at 16 kHz): four stride-4 stages with
    doubling widths halve the activations per sample at every stage (16, 8, 4, 2, 1), which
    keeps the full-rate stages narrow so decoding stays well ahead of Griffin-Lim on a CPU.

    The output layer is linear (no tanh): tanh squashes peaks near full scale and its vanishing
    gradient there slows learning of loud material; clip at write time instead.

    ``decoder="istft"`` replaces the mirrored decoder by a ``VocosVocoder`` on the latents
    (``frame_dim`` wide, ``frame_layers`` ConvNeXt blocks, FFT size ``4 * hop_length``,
    summed phase increments); ``encoder="stft"`` replaces the strided Snake stack by a
    ``SpectralEncoder`` (log-magnitude STFT with that FFT size and hop, then ConvNeXt blocks
    of the same width and depth). ``decoder="mel"`` is a ``MelWaistDecoder``: ConvNeXt blocks
    (``frame_dim``, ``frame_layers``) map the latents to an 80-bin normalised log-mel at
    ``sample_rate`` (FFT ``4 * hop_length``) and a vocoder (``vocoder_dim``,
    ``vocoder_layers``, ``vocoder_phase``, magnitude prior) decodes it; it can start from a
    trained vocoder of the same size, phase head and mel normalisation (``waist_mean``,
    ``waist_std``: x = (log mel - mean) / std, as ``MelRepresentation``).
    ``channels``, ``channel_mults`` and ``res_dilations`` only shape the conv parts.
    """

    def __init__(
        self,
        channels: int = 16,
        channel_mults: tuple[int, ...] = (2, 4, 8, 16),
        strides: tuple[int, ...] = (4, 4, 4, 4),
        latent_dim: int = 32,
        res_dilations: tuple[int, ...] = (1, 3, 9),
        bottleneck: Bottleneck = "kl",
        weight_norm: bool = True,
        logvar_min: float = -30.0,
        logvar_max: float = 20.0,
        decoder: DecoderKind = "conv",
        encoder: EncoderKind = "conv",
        frame_dim: int = 256,
        frame_layers: int = 8,
        vocoder_dim: int = 128,
        vocoder_layers: int = 6,
        vocoder_phase: str = "increment",
        sample_rate: int = 16000,
        waist_mean: float = -8.5,
        waist_std: float = 3.5,
    ) -> None:
        super().__init__()
        if len(channel_mults) != len(strides):
            raise ValueError(
                f"channel_mults ({len(channel_mults)}) and strides ({len(strides)}) must match"
            )
        if any(s < 1 for s in strides):
            raise ValueError(f"strides must be >= 1, got {strides}")
        if bottleneck not in ("kl", "plain"):
            raise ValueError(f"bottleneck must be 'kl' or 'plain', got {bottleneck!r}")
        if encoder not in ("conv", "stft"):
            raise ValueError(f"encoder must be 'conv' or 'stft', got {encoder!r}")
        if decoder not in ("conv", "istft", "mel"):
            raise ValueError(f"decoder must be 'conv', 'istft' or 'mel', got {decoder!r}")
        self.channels = channels
        self.channel_mults = tuple(channel_mults)
        self.strides = tuple(strides)
        self.latent_dim = latent_dim
        self.res_dilations = tuple(res_dilations)
        self.bottleneck = bottleneck
        self.weight_norm = weight_norm
        self.logvar_min = logvar_min
        self.logvar_max = logvar_max
        self.decoder_kind = decoder
        self.encoder_kind = encoder
        self.frame_dim = frame_dim
        self.frame_layers = frame_layers
        self.vocoder_dim = vocoder_dim
        self.vocoder_layers = vocoder_layers
        self.vocoder_phase = vocoder_phase
        self.sample_rate = sample_rate
        self.waist_mean = waist_mean
        self.waist_std = waist_std

        widths = [channels, *(channels * m for m in channel_mults)]
        enc_out = 2 * latent_dim if bottleneck == "kl" else latent_dim
        if encoder == "stft":
            self.encoder = SpectralEncoder(
                enc_out, self.hop_length, dim=frame_dim, num_layers=frame_layers
            )
        else:
            self.encoder = self._conv_encoder(widths, enc_out)
        if decoder == "istft":
            self.decoder = VocosVocoder(
                n_mels=latent_dim,
                dim=frame_dim,
                num_layers=frame_layers,
                n_fft=4 * self.hop_length,
                hop_length=self.hop_length,
                phase="increment",
            )
        elif decoder == "mel":
            mel = MelRepresentation(
                sample_rate=sample_rate,
                n_fft=4 * self.hop_length,
                hop_length=self.hop_length,
                mean=waist_mean,
                std=waist_std,
            )
            self.decoder = MelWaistDecoder(
                latent_dim, mel, frame_dim, frame_layers, vocoder_dim, vocoder_layers, vocoder_phase
            )
        else:
            self.decoder = self._conv_decoder(widths)

    def _conv_encoder(self, widths: list[int], enc_out: int) -> nn.Sequential:
        wn = self.weight_norm
        return nn.Sequential(
            _conv(1, widths[0], 7, padding=3, weight_norm=wn),
            *[
                EncoderBlock(
                    widths[i], widths[i + 1], s, dilations=self.res_dilations, weight_norm=wn
                )
                for i, s in enumerate(self.strides)
            ],
            Snake(widths[-1]),
            _conv(widths[-1], enc_out, 3, padding=1, weight_norm=wn),
        )

    def _conv_decoder(self, widths: list[int]) -> nn.Sequential:
        wn = self.weight_norm
        return nn.Sequential(
            _conv(self.latent_dim, widths[-1], 7, padding=3, weight_norm=wn),
            *[
                DecoderBlock(
                    widths[i + 1], widths[i], s, dilations=self.res_dilations, weight_norm=wn
                )
                for i, s in reversed(list(enumerate(self.strides)))
            ],
            Snake(widths[0]),
            _conv(widths[0], 1, 7, padding=3, weight_norm=wn),
        )

    @property
    def hop_length(self) -> int:
        """Waveform samples per latent frame: prod(strides)."""
        return math.prod(self.strides)

    def hparams(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serialisable), e.g. for a checkpoint or ``config()``."""
        return {
            "channels": self.channels,
            "channel_mults": list(self.channel_mults),
            "strides": list(self.strides),
            "latent_dim": self.latent_dim,
            "res_dilations": list(self.res_dilations),
            "bottleneck": self.bottleneck,
            "weight_norm": self.weight_norm,
            "logvar_min": self.logvar_min,
            "logvar_max": self.logvar_max,
            "encoder": self.encoder_kind,
            "decoder": self.decoder_kind,
            "frame_dim": self.frame_dim,
            "frame_layers": self.frame_layers,
            "vocoder_dim": self.vocoder_dim,
            "vocoder_layers": self.vocoder_layers,
            "sample_rate": self.sample_rate,
            "waist_mean": self.waist_mean,
            "waist_std": self.waist_std,
        }

    def _pad_to_hop(self, wav: Tensor) -> Tensor:
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise ValueError(f"expected wav of shape [B, 1, N], got {tuple(wav.shape)}")
        extra = -wav.shape[-1] % self.hop_length
        return F.pad(wav, (0, extra)) if extra else wav

    def encode_dist(self, wav: Tensor) -> tuple[Tensor, Tensor | None]:
        """Posterior mean and log-variance (clamped); logvar is None for the plain bottleneck."""
        # wav: [B, 1, N] -> mean, logvar: [B, latent_dim, ceil(N / hop)]
        h = self.encoder(self._pad_to_hop(wav))
        if self.bottleneck == "plain":
            return h, None
        mean, logvar = h.chunk(2, dim=1)
        return mean, logvar.clamp(self.logvar_min, self.logvar_max)

    def encode(
        self, wav: Tensor, sample: bool = False, generator: torch.Generator | None = None
    ) -> Tensor:
        """The posterior mean, or a reparameterised sample when ``sample`` (KL bottleneck only)."""
        # wav: [B, 1, N] -> z: [B, latent_dim, ceil(N / hop)]
        mean, logvar = self.encode_dist(wav)
        if not sample or logvar is None:
            return mean
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + (0.5 * logvar).exp() * noise

    def decode(self, z: Tensor) -> Tensor:
        # z: [B, latent_dim, T] -> wav: [B, 1, T * hop_length]
        return self.decoder(z)

    def forward(self, wav: Tensor) -> tuple[Tensor, Tensor]:
        """Reconstruction from a posterior sample, and the mean KL per latent element.

        The KL term is 0 for the plain bottleneck (which decodes its deterministic z).
        """
        # wav: [B, 1, N] -> recon: [B, 1, N], kl: scalar
        mean, logvar = self.encode_dist(wav)
        if logvar is None:
            z, kl = mean, mean.new_zeros(())
        else:
            z = mean + (0.5 * logvar).exp() * torch.randn_like(mean)
            kl = kl_to_standard_normal(mean, logvar)
        return self.decode(z)[..., : wav.shape[-1]], kl


def latent_stats(
    latents: Tensor, per_channel: bool = True, min_std: float = 1e-5
) -> tuple[Tensor, Tensor]:
    """Mean and std of encoded latents over batch and time (per channel, or one global pair)."""
    # latents: [B, C, T] -> mean, std: [C] each
    x = latents.detach().double()
    c = x.shape[1]
    if per_channel:
        mean, std = x.mean(dim=(0, 2)), x.std(dim=(0, 2))
    else:
        mean, std = x.mean().expand(c), x.std().expand(c)
    return mean.float(), std.clamp_min(min_std).float()


def weights_digest(module: nn.Module) -> str:
    """SHA-1 of a module's state dict (names, shapes and float32 values), for ``config()``."""
    h = hashlib.sha1()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()


class LatentRepresentation(Representation):
    """x = (E(wav) - mean) / std with E a trained ``AudioAutoencoder``'s posterior mean.

    ``mean``/``std`` are per-channel buffers (``latent_mean``, ``latent_std``; 0 and 1 until
    ``fit_stats``) so ``encode`` is ~zero-mean, unit-variance like the mel representation
    (``sigma_data = 1``). ``decode`` undoes the normalisation exactly and runs the decoder.
    The autoencoder is frozen (``requires_grad_(False)``) so it never joins an optimizer.
    ``config()`` includes a digest of the weights unless ``checkpoint_id`` names them.
    Like ``MelRepresentation``, ``decode`` runs under no_grad and ``encode`` does not.
    """

    def __init__(
        self,
        autoencoder: AudioAutoencoder,
        sample_rate: int = 16000,
        checkpoint_id: str | None = None,
    ) -> None:
        super().__init__()
        self.autoencoder = autoencoder.requires_grad_(False).eval()
        self.sample_rate = sample_rate
        self.checkpoint_id = checkpoint_id
        c = autoencoder.latent_dim
        self.register_buffer("latent_mean", torch.zeros(c))
        self.register_buffer("latent_std", torch.ones(c))

    @property
    def channels(self) -> int:
        return self.autoencoder.latent_dim

    @property
    def hop_length(self) -> int:
        return self.autoencoder.hop_length

    def config(self) -> dict[str, Any]:
        weights = self.checkpoint_id or weights_digest(self.autoencoder)
        return {
            "sample_rate": self.sample_rate,
            "autoencoder": self.autoencoder.hparams(),
            "weights": weights,
            "latent_mean": self.latent_mean.tolist(),
            "latent_std": self.latent_std.tolist(),
        }

    @torch.no_grad()
    def fit_stats(self, latents: Tensor, per_channel: bool = True) -> None:
        """Set the normalisation from raw latents (``autoencoder.encode`` outputs)."""
        # latents: [B, C, T]
        if latents.dim() != 3 or latents.shape[1] != self.channels:
            raise ValueError(
                f"expected latents [B, {self.channels}, T], got {tuple(latents.shape)}"
            )
        mean, std = latent_stats(latents, per_channel=per_channel)
        self.latent_mean.copy_(mean)
        self.latent_std.copy_(std)

    def encode(self, wav: Tensor) -> Tensor:
        """wav: [B, 1, N] -> x: [B, latent_dim, N // hop_length] (the ragged tail is dropped)."""
        n = self.num_frames(wav.shape[-1]) * self.hop_length
        if n == 0:
            raise ValueError(f"need at least {self.hop_length} samples, got {wav.shape[-1]}")
        z = self.autoencoder.encode(wav[..., :n])
        return (z - self.latent_mean[:, None]) / self.latent_std[:, None]

    @torch.no_grad()
    def decode(self, x: Tensor) -> Tensor:
        """x: [B, latent_dim, T] -> wav: [B, 1, T * hop_length]"""
        z = x * self.latent_std[:, None] + self.latent_mean[:, None]
        return self.autoencoder.decode(z)
