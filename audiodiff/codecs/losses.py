"""Codec training losses: multi-resolution STFT, mel L1, phase advance, hinge GAN, features.

Waveforms are ``[B, 1, N]`` (``[B, N]`` also accepted by the spectral losses). The GAN losses
take the per-sub-discriminator lists of ``discriminators.DiscriminatorOutput`` and average
over sub-discriminators (as Vocos does), so their scale does not grow with their number.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from audiodiff.audio.mel import MelRepresentation


def _mono(wav: Tensor) -> Tensor:
    # wav: [B, 1, N] or [B, N] -> [B, N] float32
    if wav.dim() == 3:
        if wav.shape[1] != 1:
            raise ValueError(f"expected wav [B, 1, N], got {tuple(wav.shape)}")
        wav = wav[:, 0]
    return wav.float()


class MultiResolutionSTFTLoss(nn.Module):
    """Mean over resolutions of spectral convergence + log-magnitude L1.

    Yamamoto et al. 2020, "Parallel WaveGAN", eq. 1-3 (L_sc + L_mag per resolution, eq. 4
    averages them): L_sc = ||  |Y| - |X|  ||_F / || |Y| ||_F, L_mag = mean | log|Y| - log|X| |.
    ``forward(pred, target)``: X is the prediction, Y the target; L_sc is therefore not
    symmetric (its denominator is the target), L_mag is.
    """

    def __init__(
        self,
        resolutions: Sequence[Sequence[int]] = ((512, 128), (1024, 256), (2048, 512)),
        eps: float = 1e-7,
    ) -> None:
        super().__init__()
        self.resolutions = [(int(n_fft), int(hop)) for n_fft, hop in resolutions]
        self.eps = eps
        for n_fft, _ in self.resolutions:
            self.register_buffer(f"window_{n_fft}", torch.hann_window(n_fft), persistent=False)

    def _magnitude(self, wav: Tensor, n_fft: int, hop: int) -> Tensor:
        # wav: [B, N] -> |STFT|: [B, n_fft // 2 + 1, frames], floored at sqrt(eps)
        window = getattr(self, f"window_{n_fft}")
        spec = torch.stft(wav, n_fft, hop, window=window, center=True, return_complex=True)
        return torch.view_as_real(spec).square().sum(-1).clamp_min(self.eps).sqrt()

    def terms(self, pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """(spectral convergence, log-magnitude L1), each averaged over resolutions.

        pred, target: [B, 1, N] -> two scalars
        """
        x, y = _mono(pred), _mono(target)
        sc = mag = x.new_zeros(())
        for n_fft, hop in self.resolutions:
            mx, my = self._magnitude(x, n_fft, hop), self._magnitude(y, n_fft, hop)
            sc = sc + torch.linalg.vector_norm(my - mx) / torch.linalg.vector_norm(my)  # eq. 2
            mag = mag + (my.log() - mx.log()).abs().mean()  # eq. 3
        n = len(self.resolutions)
        return sc / n, mag / n

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        # pred, target: [B, 1, N] -> scalar
        sc, mag = self.terms(pred, target)
        return sc + mag


class PhaseDerivativeLoss(nn.Module):
    """Magnitude-weighted mismatch of the STFT phase advance per frame (instantaneous frequency).

    Per resolution, with S_t a frame of the centred STFT and P_t = S_t conj(S_{t-1}) (its angle
    is the phase advance from frame t-1 to t, wrapped for free):
    L = sum_t,k w (1 - cos(angle P_x - angle P_y)) / sum w, w = |P_y| (the target's), so loud,
    steady partials count and silent bins do not. 0 when every advance matches, at most 2.
    It is the weighted-cosine form of the anti-wrapping instantaneous angular frequency loss
    of APNet (Ai & Ling 2023, eq. 5-7); spectral losses see wrong advances only indirectly,
    through the energy that overlap-add then cancels, so this loss speeds up learning phase.
    ``group_delay_weight`` > 0 adds the same term along frequency (P_k = S_k conj(S_{k-1}) in
    each frame: the phase difference between neighbouring bins, APNet's group delay), which
    sees where in a frame a transient sits; steady partials hardly move it.
    """

    def __init__(
        self,
        resolutions: Sequence[Sequence[int]] = ((1024, 256),),
        group_delay_weight: float = 0.0,
        eps: float = 1e-7,
    ) -> None:
        super().__init__()
        self.resolutions = [(int(n_fft), int(hop)) for n_fft, hop in resolutions]
        self.group_delay_weight = group_delay_weight
        self.eps = eps
        for n_fft, _ in self.resolutions:
            self.register_buffer(f"window_{n_fft}", torch.hann_window(n_fft), persistent=False)

    def _spec(self, wav: Tensor, n_fft: int, hop: int) -> Tensor:
        # wav: [B, N] -> S: [B, F, frames] complex
        window = getattr(self, f"window_{n_fft}")
        return torch.stft(wav, n_fft, hop, window=window, center=True, return_complex=True)

    def _mismatch(self, px: Tensor, py: Tensor) -> Tensor:
        # sum w (1 - cos(angle px - angle py)) / sum w with w = |py|, as Re(px conj(py)) / |px|
        weight = py.abs()
        cos_w = (px * py.conj()).real / (px.abs() + self.eps)
        return (weight - cos_w).sum() / (weight.sum() + self.eps)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        # pred, target: [B, 1, N] -> scalar
        x, y = _mono(pred), _mono(target)
        total = x.new_zeros(())
        for n_fft, hop in self.resolutions:
            sx, sy = self._spec(x, n_fft, hop), self._spec(y, n_fft, hop)
            along_time = self._mismatch(
                sx[..., 1:] * sx[..., :-1].conj(), sy[..., 1:] * sy[..., :-1].conj()
            )
            total = total + along_time
            if self.group_delay_weight:
                gx = sx[:, 1:] * sx[:, :-1].conj()
                gy = sy[:, 1:] * sy[:, :-1].conj()
                total = total + self.group_delay_weight * self._mismatch(gx, gy)
        return total / len(self.resolutions)


class MelLoss(nn.Module):
    """L1 between natural-log mel magnitudes of two waveforms (HiFi-GAN's L_mel, eq. 2).

    Uses ``mel.mel_magnitude`` (the exact STFT, filter bank and framing the representation
    encodes with) and the representation's log floor, but not its mean/std normalisation, so
    the loss is in nats like HiFi-GAN's and Vocos' (which weights it by 45).
    """

    def __init__(self, mel: MelRepresentation | None = None) -> None:
        super().__init__()
        self.mel = MelRepresentation() if mel is None else mel

    def log_mel(self, wav: Tensor) -> Tensor:
        # wav: [B, 1, N] -> log-mel: [B, n_mels, N // hop]
        return torch.log(self.mel.mel_magnitude(wav).clamp_min(self.mel.log_floor))

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        # pred, target: [B, 1, N] -> scalar
        return (self.log_mel(pred) - self.log_mel(target)).abs().mean()


def discriminator_hinge_loss(real_logits: list[Tensor], fake_logits: list[Tensor]) -> Tensor:
    """Hinge loss for the discriminator, mean over sub-discriminators k.

    Lim & Ye 2017, "Geometric GAN" (the hinge form used by Vocos):
    L_D = mean_k ( E[max(0, 1 - D_k(y))] + E[max(0, 1 + D_k(G(x)))] ).
    real_logits, fake_logits: lists of [B, L_k] -> scalar
    """
    if len(real_logits) != len(fake_logits) or not real_logits:
        raise ValueError("need the same, non-zero number of real and fake logits")
    terms = [
        torch.relu(1 - dr).mean() + torch.relu(1 + df).mean()
        for dr, df in zip(real_logits, fake_logits, strict=True)
    ]
    return torch.stack(terms).mean()


def generator_hinge_loss(fake_logits: list[Tensor]) -> Tensor:
    """Generator side of the hinge GAN as in Vocos: mean_k E[max(0, 1 - D_k(G(x)))].

    (Not the -E[D(G(x))] of Lim & Ye 2017; the clamp stops rewarding samples the
    discriminator already accepts by a margin.) fake_logits: list of [B, L_k] -> scalar
    """
    if not fake_logits:
        raise ValueError("need at least one set of logits")
    return torch.stack([torch.relu(1 - df).mean() for df in fake_logits]).mean()


def feature_matching_loss(
    real_features: list[list[Tensor]], fake_features: list[list[Tensor]]
) -> Tensor:
    """L1 between discriminator feature maps of real and generated audio (HiFi-GAN, eq. 3).

    Sum over layers of the mean |D_k^i(y) - D_k^i(G(x))|, then mean over sub-discriminators
    k. Real features are detached: only the generator learns from this loss.
    real_features, fake_features: [k][i] -> [B, C_i, ...] -> scalar
    """
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError("need the same, non-zero number of real and fake feature lists")
    per_disc = []
    for fr, ff in zip(real_features, fake_features, strict=True):
        per_disc.append(sum((r.detach() - f).abs().mean() for r, f in zip(fr, ff, strict=True)))
    return torch.stack(per_disc).mean()
