"""The loudness of a missing band, predicted from the band below it (bandwidth extension).

The one-step conditional model fills the band above the cut-off with the posterior mean of
its complex bins. With the phase unknown, that mean is far quieter than the band: the new
band has the right shape but not the right level (docs/restoration.md, the oracle row).
Its level is predictable from the observed band: ``BandEnvelope`` holds the mean and the
covariance of per-frame log energies in 250 Hz bands over the training clips, and predicts
the log energies of the bands above any cut-off by the Gaussian conditional mean

    E[u | k] = mu_u + S_uk (S_kk + lambda I)^-1 (k - mu_k)

(k: the observed bands of a frame, u: the missing ones): the linear mapping of spectral
envelopes that classical bandwidth extension uses (Jax & Vary 2003 fit a mixture of such
Gaussians to the same kind of features). One mean and covariance serve every cut-off.
``apply`` scales each missing band of a restored chunk, frame by frame, to that level and
leaves the observed band alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from audiodiff.errors import ConfigError

BAND_HZ = 250.0
N_FFT, HOP = 512, 128
FLOOR = 1e-10  # on band energies before log10
SILENT = -6.0  # a frame whose loudest observed band is below this log10 energy is left alone
MAX_GAIN_DB = 60.0  # a band the restored chunk left (near) empty is raised at most this much
RIDGE = 1.0  # lambda, towards the mean level (clips 20-59: LSD 1.41 at 1, 1.43 at 3, 1.44 at 0.01)


def _stft(x: Tensor) -> Tensor:
    # x: [..., N] -> complex [..., F, T]
    window = torch.hann_window(N_FFT, dtype=torch.float64, device=x.device)
    return torch.stft(x.double(), N_FFT, HOP, window=window, return_complex=True)


def _band_of_bin(sample_rate: int) -> Tensor:
    """long [F]: the 250 Hz band of each STFT bin (Nyquist goes to the top band)."""
    freqs = torch.arange(N_FFT // 2 + 1, dtype=torch.float64) * sample_rate / N_FFT
    return (freqs / BAND_HZ).floor().long().clamp_max(n_bands(sample_rate) - 1)


def n_bands(sample_rate: int) -> int:
    return math.ceil(sample_rate / 2 / BAND_HZ)


def band_log_energy(spec: Tensor, sample_rate: int) -> Tensor:
    """spec: complex [F, T] -> log10 energy of each 250 Hz band [K, T]."""
    band = _band_of_bin(sample_rate).to(spec.device)
    power = spec.real.square() + spec.imag.square()
    energy = power.new_zeros(n_bands(sample_rate), spec.shape[-1])
    energy.index_add_(0, band, power)
    return energy.clamp_min(FLOOR).log10()


@dataclass
class BandEnvelope:
    """Mean [K] and covariance [K, K] of per-frame band log energies at ``sample_rate``."""

    sample_rate: int
    mean: Tensor
    cov: Tensor
    frames: int = 0  # how many frames they were fitted on

    @classmethod
    def fit(cls, clips: Iterable[Tensor], sample_rate: int) -> BandEnvelope:
        """clips: waveforms [..., N] at ``sample_rate``, at the level the model trains at.
        Frames of digital silence are left out (their log energy is the floor, not speech)."""
        logs = []
        for clip in clips:
            bands = band_log_energy(_stft(clip.flatten()), sample_rate)  # [K, T]
            logs.append(bands[:, bands.max(dim=0).values > SILENT])
        data = torch.cat(logs, dim=1) if logs else torch.zeros(n_bands(sample_rate), 0)
        if data.shape[1] < 2 * data.shape[0]:
            raise ConfigError(
                f"band envelope: {data.shape[1]} non-silent frames, "
                f"need at least {2 * data.shape[0]}"
            )
        mean = data.mean(dim=1)
        centred = data - mean[:, None]
        cov = centred @ centred.T / (data.shape[1] - 1)
        return cls(sample_rate, mean.float(), cov.float(), int(data.shape[1]))

    def to_dict(self) -> dict:
        """Plain lists (rounded), for the model's config.yaml."""
        return {
            "sample_rate": self.sample_rate,
            "band_hz": BAND_HZ,
            "frames": self.frames,
            "mean": [round(float(v), 4) for v in self.mean],
            "cov": [[round(float(v), 5) for v in row] for row in self.cov],
        }

    @classmethod
    def from_dict(cls, d: dict) -> BandEnvelope:
        if float(d.get("band_hz", BAND_HZ)) != BAND_HZ:
            raise ConfigError(
                f"band envelope: band_hz {d['band_hz']}; this version reads {BAND_HZ}"
            )
        mean, cov = torch.tensor(d["mean"]), torch.tensor(d["cov"])
        return cls(int(d["sample_rate"]), mean, cov, int(d.get("frames", 0)))

    def first_missing(self, cutoff_hz: float) -> int:
        """The first band that is not wholly below the cut-off."""
        return min(n_bands(self.sample_rate), max(1, math.floor(cutoff_hz / BAND_HZ + 1e-9)))

    def predict(self, known: Tensor, cutoff_hz: float) -> Tensor:
        """known: log energies of every band [K, T] (the ones from ``first_missing`` on are
        ignored) -> the conditional mean of the missing bands' log energies [K - k, T]."""
        k = self.first_missing(cutoff_hz)
        mean, cov = self.mean.double(), self.cov.double()
        s_kk = cov[:k, :k] + RIDGE * torch.eye(k, dtype=cov.dtype)
        weights = torch.linalg.solve(s_kk, cov[:k, k:])  # [k, K - k]
        return mean[k:, None] + weights.T @ (known[:k].double() - mean[:k, None])

    def apply(self, observed: Tensor, restored: Tensor, cutoff_hz: float) -> Tensor:
        """observed, restored: [..., N] (the band-limited chunk and the model's output) ->
        restored with each band above the cut-off scaled, frame by frame, to the predicted
        level. Only the bins at or above the cut-off are scaled, and not in frames that are
        silent in ``observed``; the overlap-add leaks a little of the raised band below the
        cut-off, which the restorer's ``keep_trusted`` (``LowBand``) then replaces."""
        shape, n = restored.shape, restored.shape[-1]
        y, x = observed.reshape(-1, n), restored.reshape(-1, n)
        k = self.first_missing(cutoff_hz)
        band = _band_of_bin(self.sample_rate)
        window = torch.hann_window(N_FFT, dtype=torch.float64, device=x.device)
        out = []
        for yi, xi in zip(y, x, strict=True):
            spec_y, spec_x = _stft(yi), _stft(xi)
            log_y = band_log_energy(spec_y, self.sample_rate)
            log_x = band_log_energy(spec_x, self.sample_rate)
            target = self.predict(log_y, cutoff_hz)  # [K - k, T]
            gain_db = (10 * (target - log_x[k:])).clamp(max=MAX_GAIN_DB)  # power dB
            gain_db[:, log_y[:k].max(dim=0).values <= SILENT] = 0.0
            gains = torch.ones(log_x.shape, dtype=torch.float64)
            gains[k:] = 10 ** (gain_db / 20)  # amplitude
            per_bin = gains[band.to(gains.device)]  # [F, T]
            per_bin[: math.ceil(cutoff_hz * N_FFT / self.sample_rate)] = 1.0
            spec_x = spec_x * per_bin
            out.append(torch.istft(spec_x, N_FFT, HOP, window=window, length=n))
        return torch.stack(out).to(restored.dtype).reshape(shape)


def fit_on_dataset(dataset, sample_rate: int, limit: int = 400) -> dict:
    """The ``band_envelope`` config entry of a model trained on ``dataset`` (an AudioFolder,
    or a degraded one: its clean clips), from the first ``limit`` clips' fixed crops."""
    base = getattr(dataset, "base", dataset)
    clips = (base[(i, 0)]["wav"] for i in range(min(len(base), limit)))
    return BandEnvelope.fit(clips, sample_rate).to_dict()
