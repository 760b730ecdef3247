"""Band-limiting for bandwidth extension: a brick-wall low-pass, an IIR low-pass, and down-
then re-sampling. Each records ``params["cutoff_hz"]``, above which (almost) nothing is left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr
import torch
from scipy import signal
from torch import Tensor

from audiodiff.errors import ConfigError
from audiodiff.restore.base import Degraded, check_wav
from audiodiff.restore.ranges import Spec, check_range, draw, draw_int


def _check_cutoff(owner: str, cutoff: Spec, sample_rate: int) -> tuple[float, float]:
    check_range(f"{owner}.sample_rate", sample_rate, low=1, integer=True)
    lo, hi = check_range(f"{owner}.cutoff_hz", cutoff, low=0, low_open=True)
    if hi >= sample_rate / 2:
        raise ConfigError(
            f"{owner}.cutoff_hz: {hi:g} Hz is not below Nyquist ({sample_rate / 2:g} Hz at "
            f"sample_rate {sample_rate})"
        )
    return lo, hi


@dataclass
class LowPass:
    """Brick-wall low-pass: the clip's whole-length real FFT with every bin at or above
    ``cutoff_hz`` set to zero, y = irfft(1[f < cutoff] rfft(x)).

    Exactly the observation of ``operators.LowBand`` (an orthogonal projection: applying it
    twice changes nothing); the stop band is zero, not merely attenuated, in that FFT. The
    FFT is circular, so the filter's ringing wraps around the clip's ends.
    """

    cutoff_hz: Spec
    sample_rate: int

    def __post_init__(self) -> None:
        self.cutoff_hz = _check_cutoff("LowPass", self.cutoff_hz, self.sample_rate)

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        cutoff = draw(self.cutoff_hz, generator)
        n = wav.shape[-1]
        freqs = torch.fft.rfftfreq(n, d=1.0 / self.sample_rate).to(wav.device)
        spectrum = torch.fft.rfft(wav) * (freqs < cutoff)
        degraded = torch.fft.irfft(spectrum, n=n).to(wav.dtype)
        return Degraded(degraded, {"op": "LowPass", "cutoff_hz": cutoff})


@dataclass
class IIRLowPass:
    """Chebyshev type II low-pass of ``order`` with its stop band from ``cutoff_hz`` up at
    ``stop_db`` below the pass band, run forwards and backwards (scipy ``sosfiltfilt``): zero
    phase, at least 2 * stop_db of attenuation above the cut-off, a pass band that rolls off
    just below it (the transition of an analogue or codec filter; an order range varies it).
    """

    cutoff_hz: Spec
    sample_rate: int
    order: Spec = (4, 12)
    stop_db: float = 40.0

    def __post_init__(self) -> None:
        self.cutoff_hz = _check_cutoff("IIRLowPass", self.cutoff_hz, self.sample_rate)
        self.order = check_range("IIRLowPass.order", self.order, low=1, high=32, integer=True)
        check_range("IIRLowPass.stop_db", self.stop_db, low=20, high=200)

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        cutoff = draw(self.cutoff_hz, generator)
        order = draw_int(self.order, generator)
        sos = signal.cheby2(
            order, self.stop_db, cutoff, btype="lowpass", output="sos", fs=self.sample_rate
        )
        x = wav.detach().cpu().double().numpy()
        padlen = min(3 * (2 * len(sos) + 1), x.shape[-1] - 1)  # scipy's default, or shorter
        y = signal.sosfiltfilt(sos, x, axis=-1, padlen=max(padlen, 0))
        degraded = torch.from_numpy(np.ascontiguousarray(y)).to(wav.device, wav.dtype)
        params = {"op": "IIRLowPass", "cutoff_hz": cutoff, "order": order, "stop_db": self.stop_db}
        return Degraded(degraded, params)


@dataclass
class Resample:
    """Down-sample to ``rate_hz`` and back to ``sample_rate`` (soxr, high quality): the band
    above rate_hz / 2 is lost, as in audio stored at a lower rate. ``cutoff_hz`` = rate / 2.
    The output is cropped (or zero-padded by a sample) to the input's length."""

    rate_hz: Spec
    sample_rate: int

    def __post_init__(self) -> None:
        check_range("Resample.sample_rate", self.sample_rate, low=1, integer=True)
        self.rate_hz = check_range(
            "Resample.rate_hz", self.rate_hz, low=100, high=self.sample_rate, high_open=True
        )

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        rate = round(draw(self.rate_hz, generator))
        n = wav.shape[-1]
        x = np.ascontiguousarray(wav[:, 0].detach().cpu().float().numpy().T)  # [N, B]
        low = soxr.resample(x, self.sample_rate, rate, quality="HQ")
        back = soxr.resample(low, rate, self.sample_rate, quality="HQ")[:n]  # [<= N, B]
        back = np.pad(back, ((0, n - back.shape[0]), (0, 0)))
        degraded = torch.from_numpy(np.ascontiguousarray(back.T))[:, None]  # [B, 1, N]
        params = {"op": "Resample", "rate_hz": rate, "cutoff_hz": rate / 2}
        return Degraded(degraded.to(wav.device, wav.dtype), params)
