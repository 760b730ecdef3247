"""The training clips' loudness by label value, and generation at the data's level."""

import numpy as np
import pytest
import torch

import audiodiff
from audiodiff.audio.loudness import rms_db
from audiodiff.data.levels import MIN_CLIPS, LevelStats, apply_levels, fit_on_dataset
from audiodiff.errors import ConfigError


def tone(level_db: float, n: int = 4000) -> torch.Tensor:
    """A sine [1, n] at an RMS of level_db dBFS."""
    wav = torch.sin(torch.arange(n) * 0.05)[None]
    return wav * 10 ** (level_db / 20) / wav.pow(2).mean().sqrt()


def clips(levels: dict[str, list[float]]):
    return [(tone(x), {"instrument": name}) for name, xs in levels.items() for x in xs]


def test_fit_keeps_each_value_and_draws_within_it():
    stats = LevelStats.fit(clips({"organ": [-12, -11, -10, -9, -8], "marimba": [-30] * 5}))
    assert stats.by_label["instrument"]["organ"][0] == pytest.approx(-12, abs=0.01)
    assert stats.by_label["instrument"]["organ"][-1] == pytest.approx(-8, abs=0.01)
    draws = stats.draw([{"instrument": "organ"}] * 200, list(range(200)))
    assert draws.min() >= -12.01 and draws.max() <= -7.99
    assert draws.std() > 0.5  # the spread of the data, not one level
    assert stats.draw([{"instrument": "marimba"}], [0]).item() == pytest.approx(-30, abs=0.01)


def test_draws_follow_the_data_distribution():
    rng = np.random.default_rng(0)
    data = rng.normal(-20, 3, 400)
    stats = LevelStats.fit(clips({"x": list(data)}))
    draws = stats.draw([{"instrument": "x"}] * 400, list(range(400))).numpy()
    q = np.linspace(0.05, 0.95, 19)
    assert np.abs(np.quantile(draws, q) - np.quantile(data, q)).mean() < 0.6


def test_draw_is_seeded_and_unknown_or_rare_values_use_the_whole_set():
    stats = LevelStats.fit(clips({"organ": [-10] * 5, "bell": [-40] * (MIN_CLIPS - 1)}))
    assert "bell" not in stats.by_label["instrument"]
    a = stats.draw([{"instrument": "bell"}, {"instrument": None}], [3, 4])
    assert torch.equal(a, stats.draw([{"instrument": "bell"}, {"instrument": None}], [3, 4]))
    assert (a >= -40.01).all() and (a <= -9.99).all()  # overall: between the two groups
    # the narrowest label wins: pitch says nothing here, instrument says everything
    both = [(w, {**lab, "pitch": "60"}) for w, lab in clips({"organ": [-10] * 5, "pad": [-30] * 5})]
    stats = LevelStats.fit(both)
    assert stats.draw([{"instrument": "pad", "pitch": "60"}], [0]).item() == pytest.approx(-30)


def test_silent_clips_are_left_out_and_round_trip():
    stats = LevelStats.fit([(torch.zeros(1, 100), {"instrument": "a"})] + clips({"a": [-20] * 5}))
    assert stats.overall[0] == pytest.approx(-20, abs=0.01)
    again = LevelStats.from_dict(stats.to_dict())
    assert np.allclose(again.by_label["instrument"]["a"], stats.by_label["instrument"]["a"])
    with pytest.raises(ValueError, match="silence"):
        LevelStats.fit([(torch.zeros(1, 100), {})])


def test_apply_levels_sets_rms_and_guards_peaks():
    wav = torch.stack([tone(-50), tone(-3)])  # [2, 1, N]
    out = apply_levels(wav, torch.tensor([-20.0, -1.0]))
    assert rms_db(out[0, 0]).item() == pytest.approx(-20, abs=0.01)
    assert out[1].abs().max().item() <= 0.99 + 1e-6  # -1 dBFS RMS of a sine would clip


def test_fit_on_dataset_reads_first_crops(synth_dir):
    from audiodiff.data.datamodule import AudioDataModule

    dm = AudioDataModule(root=str(synth_dir), labels=["instrument"], sample_rate=16000,
                         segment_seconds=0.5, batch_size=4)  # fmt: skip
    dm.setup("fit")
    levels = fit_on_dataset(dm.train_set, limit=40)
    assert levels is not None and -60 < levels["overall"][10] < 0
    assert set(levels["by_label"]["instrument"]) <= set(dm.vocab.values["instrument"][1:])


def test_pipeline_level(tmp_path, tiny):
    config = tiny.model_config()
    plain = audiodiff.load(tiny.model_folder(tmp_path / "plain", config), device="cpu")
    wav = plain.generate(2, seconds=0.25, seed=0)
    assert torch.equal(plain.generate(2, seconds=0.25, seed=0, level="auto"), wav)  # no levels
    with pytest.raises(ConfigError, match="keeps no training levels"):
        plain.generate(1, seconds=0.25, level="data")
    with pytest.raises(ConfigError, match="dBFS"):
        plain.resolve_level(5)
    fixed = plain.generate(2, seconds=0.25, seed=0, level=-30)
    assert torch.allclose(rms_db(fixed[:, 0]), torch.tensor(-30.0), atol=0.05)

    config["levels"] = LevelStats.fit(clips({"bell": [-40] * 5, "organ": [-25] * 5})).to_dict()
    pipe = audiodiff.load(tiny.model_folder(tmp_path / "levels", config), device="cpu")
    out = pipe.generate(
        2, seconds=0.25, seed=0, cond={"instrument": ["bell", "organ"]}, level="data"
    )
    assert torch.allclose(rms_db(out[:, 0]), torch.tensor([-40.0, -25.0]), atol=0.05)
    raw = pipe.generate(2, seconds=0.25, seed=0, cond={"instrument": "bell"}, level=None)
    assert not torch.allclose(rms_db(raw[:, 0]), torch.tensor(-40.0), atol=1.0)
