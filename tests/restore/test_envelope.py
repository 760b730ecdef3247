"""The band-level predictor of bandwidth extension: it predicts the missing band's level from
the observed one, scales only the missing band, and survives the model's config.yaml."""

from __future__ import annotations

import pytest
import torch
import yaml

from audiodiff.errors import ConfigError
from audiodiff.restore.bandlimit import LowPass
from audiodiff.restore.envelope import (
    HOP,
    BandEnvelope,
    _stft,
    band_log_energy,
    fit_on_dataset,
)

SR = 16000


def clip(seed: int, seconds: float = 1.0) -> torch.Tensor:
    """Noise with a fixed spectral tilt, loud and quiet in turns (a level that changes from
    frame to frame), at a level of its own: the high band's level follows the low band's."""
    g = torch.Generator().manual_seed(seed)
    n = round(seconds * SR)
    white = torch.fft.rfft(torch.randn(n, generator=g))
    freqs = torch.fft.rfftfreq(n, 1 / SR)
    tilted = torch.fft.irfft(white / (1 + freqs / 1000), n=n)
    db = 30 * torch.rand(8, generator=g) - 20 * torch.rand((), generator=g)  # 8 segments
    level = 0.1 * 10 ** (db.repeat_interleave(n // 8 + 1)[:n] / 20)
    return (tilted * level).float()[None]  # [1, N]


@pytest.fixture(scope="module")
def envelope() -> BandEnvelope:
    return BandEnvelope.fit((clip(i) for i in range(40)), SR)


def low_passed(x: torch.Tensor, cutoff: float) -> torch.Tensor:
    return LowPass(cutoff_hz=cutoff, sample_rate=SR)(x[None], torch.Generator()).wav[0]


@pytest.mark.parametrize("cutoff", [3000.0, 4000.0, 5500.0])
def test_a_quiet_band_is_raised_to_the_level_of_the_truth(envelope, cutoff):
    truth = clip(1000)
    observed = low_passed(truth, cutoff)
    quiet = observed + 0.01 * (truth - observed)  # the right band 40 dB too quiet
    out = envelope.apply(observed, quiet, cutoff)
    k = envelope.first_missing(cutoff)
    frames = slice(4, -4)  # away from the clip's ends

    def high_db(x):
        return 10 * band_log_energy(_stft(x[0]), SR)[k:, frames]

    before = (high_db(quiet) - high_db(truth)).abs().mean()
    after = (high_db(out) - high_db(truth)).abs().mean()
    assert before > 35  # the test's premise
    assert after < 3.0, f"{after:.2f} dB off the truth per band and frame"


def test_the_observed_band_and_silent_frames_are_left_alone(envelope):
    truth = clip(1001)
    observed = low_passed(truth, 4000.0)
    quiet = observed + 0.01 * (truth - observed)
    observed[:, : SR // 4] = quiet[:, : SR // 4] = 0  # digital silence first
    out = envelope.apply(observed, quiet, 4000.0)
    below = torch.fft.rfftfreq(SR, 1 / SR) < 3800.0  # the overlap-add leaks a little near it
    spec_out, spec_in = torch.fft.rfft(out)[:, below], torch.fft.rfft(quiet)[:, below]
    assert (spec_out - spec_in).abs().square().sum() < 1e-4 * spec_in.abs().square().sum()
    assert not torch.allclose(out, quiet, atol=1e-3)  # the band above was raised
    silent = SR // 4 // HOP - 3  # frames wholly inside the silence
    assert torch.equal(out[:, : silent * HOP], quiet[:, : silent * HOP])


def test_the_envelope_survives_the_config_file(envelope, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"band_envelope": envelope.to_dict()}))
    again = BandEnvelope.from_dict(yaml.safe_load(path.read_text())["band_envelope"])
    known = band_log_energy(_stft(clip(7)[0]), SR)
    assert torch.allclose(again.predict(known, 4000.0), envelope.predict(known, 4000.0), atol=1e-2)
    assert again.frames == envelope.frames > 0


class CleanClips:
    """What a training set's clean clips offer: clips[(index, crop_seed)]["wav"]."""

    def __len__(self) -> int:
        return 40

    def __getitem__(self, key: tuple[int, int]) -> dict:
        return {"wav": clip(key[0])}


def test_a_training_set_fits_the_same_envelope(envelope):
    class Degraded:  # a degraded training set: its clean clips are .base
        base = CleanClips()

    assert fit_on_dataset(Degraded(), SR)["mean"] == envelope.to_dict()["mean"]
    assert fit_on_dataset(CleanClips(), SR)["cov"] == envelope.to_dict()["cov"]


def test_silence_alone_is_refused():
    with pytest.raises(ConfigError, match="non-silent frames"):
        BandEnvelope.fit([torch.zeros(1, SR)], SR)
