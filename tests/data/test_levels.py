"""The training clips' loudness by label value, and generation at the data's level."""

import numpy as np
import pytest
import torch

import audiodiff
from audiodiff.audio.loudness import rms_db
from audiodiff.data.levels import (
    KNEE,
    MIN_CLIPS,
    LevelStats,
    apply_levels,
    fit_on_dataset,
    soft_limit,
)
from audiodiff.errors import ConfigError


def tone(level_db: float, n: int = 4000) -> torch.Tensor:
    """A sine [1, n] at an RMS of level_db dBFS."""
    wav = torch.sin(torch.arange(n) * 0.05)[None]
    return wav * 10 ** (level_db / 20) / wav.pow(2).mean().sqrt()


def clips(levels: dict[str, list[float]], **extra: str):
    return [(tone(x), {"instrument": name, **extra}) for name, xs in levels.items() for x in xs]


LABELS = ["instrument", "kind"]


def test_fit_keeps_each_value_and_draws_within_it():
    data = clips({"organ": [-12, -11, -10, -9, -8], "marimba": [-30] * 5})
    stats = LevelStats.fit(data, LABELS)
    assert stats.groups[("organ",)][0] == pytest.approx(-12, abs=0.01)
    assert stats.groups[("organ",)][-1] == pytest.approx(-8, abs=0.01)
    draws = stats.draw([{"instrument": "organ"}] * 200, list(range(200)))
    assert draws.min() >= -12.01 and draws.max() <= -7.99
    assert draws.std() > 0.5  # the spread of the data, not one level
    assert stats.draw([{"instrument": "marimba"}], [0]).item() == pytest.approx(-30, abs=0.01)


def test_draws_follow_the_data_distribution():
    rng = np.random.default_rng(0)
    data = rng.normal(-20, 3, 400)
    stats = LevelStats.fit(clips({"x": list(data)}), LABELS)
    draws = stats.draw([{"instrument": "x"}] * 400, list(range(400))).numpy()
    q = np.linspace(0.05, 0.95, 19)
    assert np.abs(np.quantile(draws, q) - np.quantile(data, q)).mean() < 0.6


def test_draw_backs_off_to_shorter_label_prefixes():
    data = (clips({"piano": [-10] * 5}, kind="note") + clips({"piano": [-30] * 5}, kind="chord")
            + clips({"bell": [-40] * (MIN_CLIPS - 1)}, kind="note"))  # fmt: skip
    stats = LevelStats.fit(data, LABELS)
    assert ("bell",) not in stats.groups and ("piano", "note") in stats.groups
    note = stats.draw([{"instrument": "piano", "kind": "note"}], [0]).item()
    assert note == pytest.approx(-10, abs=0.01)  # the longest prefix: piano notes
    piano = stats.draw([{"instrument": "piano", "kind": None}] * 50, list(range(50)))
    assert piano.min() >= -30.01 and piano.max() <= -9.99 and piano.std() > 1  # all piano
    unknown = stats.draw([{"instrument": "bell", "kind": "note"}, {"instrument": None}], [3, 4])
    assert (unknown >= -40.01).all() and (unknown <= -9.99).all()  # the whole set
    assert torch.equal(unknown, stats.draw([{"instrument": "bell", "kind": "note"},
                                            {"instrument": None}], [3, 4]))  # fmt: skip
    # a missing first label stops the prefix: kind alone says nothing
    assert stats.quantiles_for({"kind": "note"}) is stats.overall


def test_silent_clips_are_left_out_and_round_trip():
    data = [(torch.zeros(1, 100), {"instrument": "a"})] + clips({"a": [-20] * 5})
    stats = LevelStats.fit(data, LABELS)
    assert stats.overall[0] == pytest.approx(-20, abs=0.01)
    again = LevelStats.from_dict(stats.to_dict())
    assert again.labels == LABELS and np.allclose(again.groups[("a",)], stats.groups[("a",)])
    with pytest.raises(ValueError, match="silence"):
        LevelStats.fit([(torch.zeros(1, 100), {})], LABELS)


def test_apply_levels_sets_rms_and_limits_peaks():
    wav = torch.stack([tone(-50), tone(-3)])  # [2, 1, N]
    out = apply_levels(wav, torch.tensor([-20.0, -4.0]))
    assert rms_db(out[0, 0]).item() == pytest.approx(-20, abs=0.01)  # no peak near: plain gain
    assert torch.allclose(out[0], wav[0] * 10 ** ((-20 + 50) / 20), atol=1e-6)
    # a sine at -4 dBFS RMS peaks at -1 dBFS: limited, and still at its level
    assert rms_db(out[1, 0]).item() == pytest.approx(-4, abs=0.05)
    assert out[1].abs().max().item() <= 0.99


def test_soft_limit_bends_only_the_peaks():
    x = torch.linspace(-3, 3, 601)
    y = soft_limit(x, peak=0.99)
    inside = x.abs() <= 0.99 * KNEE
    assert torch.equal(y[inside], x[inside])
    assert (y.abs() < 0.99).all() and (y.diff() > 0).all()  # under the peak, monotone


def test_fit_on_dataset_reads_the_recorded_levels(synth_dir, monkeypatch):
    from audiodiff.data import levels as module
    from audiodiff.data.datamodule import AudioDataModule

    monkeypatch.setattr(module, "MIN_CLIPS", 2)  # this set has 3 clips of each instrument
    dm = AudioDataModule(root=str(synth_dir), labels=["instrument"], sample_rate=16000,
                         segment_seconds=0.5, batch_size=4, loudness_db=-20.0)  # fmt: skip
    dm.setup("fit")
    levels = fit_on_dataset(dm.train_set, limit=200)
    # the levels the recordings had, not the -20 dBFS training normalises them to
    assert levels["overall"][-3] - levels["overall"][2] > 3
    assert levels is not None and -60 < levels["overall"][10] < 0 and levels["groups"]
    assert {g["values"][0] for g in levels["groups"]} <= set(dm.vocab.values["instrument"][1:])


def test_pipeline_level(tmp_path, tiny):
    config = tiny.model_config()
    plain = audiodiff.load(tiny.model_folder(tmp_path / "plain", config), device="cpu")
    wav = plain.generate(2, seconds=0.25, seed=0)
    assert torch.equal(plain.generate(2, seconds=0.25, seed=0, level="auto"), wav)  # no levels
    with pytest.raises(ConfigError, match="keeps no training levels"):
        plain.generate(1, seconds=0.25, level="data")
    with pytest.raises(ConfigError, match="dBFS"):
        plain.resolve_level(5)
    unlabelled = {**config, "levels": LevelStats.fit(clips({"x": [-9] * 5}), []).to_dict()}
    whole_set = audiodiff.load(tiny.model_folder(tmp_path / "whole", unlabelled), device="cpu")
    assert whole_set.resolve_level("auto") is None  # no labels: auto keeps the net's level
    assert whole_set.resolve_level("data") == "data"
    fixed = plain.generate(2, seconds=0.25, seed=0, level=-30)
    assert torch.allclose(rms_db(fixed[:, 0]), torch.tensor(-30.0), atol=0.05)

    levels = LevelStats.fit(clips({"bell": [-40] * 5, "organ": [-25] * 5}), ["instrument"])
    config["levels"] = levels.to_dict()
    pipe = audiodiff.load(tiny.model_folder(tmp_path / "levels", config), device="cpu")
    out = pipe.generate(
        2, seconds=0.25, seed=0, cond={"instrument": ["bell", "organ"]}, level="data"
    )
    assert torch.allclose(rms_db(out[:, 0]), torch.tensor([-40.0, -25.0]), atol=0.05)
    raw = pipe.generate(2, seconds=0.25, seed=0, cond={"instrument": "bell"}, level=None)
    assert not torch.allclose(rms_db(raw[:, 0]), torch.tensor(-40.0), atol=1.0)
