"""Clean/degraded pairs on the fly: deterministic per item key, tasks as a label."""

import torch

from audiodiff.data.datamodule import AudioDataModule
from audiodiff.data.sampler import EpochSampler
from audiodiff.restore.base import Degraded


class Scale:
    """A stand-in degradation: multiply by a random gain (recorded in params)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def __call__(self, wav, generator):
        gain = self.factor * (1 + torch.rand((), generator=generator).item())
        return Degraded(wav * gain, {"op": "Scale", "gain": gain})


def module(synth_dir, degrade) -> AudioDataModule:
    dm = AudioDataModule(root=str(synth_dir), labels=["instrument"], segment_seconds=0.5,
                         batch_size=4, degrade=degrade)  # fmt: skip
    dm.setup()
    return dm


def test_items_carry_a_degraded_copy_made_from_the_item_seed(synth_dir):
    dm = module(synth_dir, Scale(0.5))
    key = EpochSampler(len(dm.train_set), seed=3).keys()[0]
    a, b = dm.train_set[key], dm.train_set[key]
    assert torch.equal(a["degraded"], b["degraded"]) and a["degraded"].shape == a["wav"].shape
    ratio = (a["degraded"].norm() / a["wav"].norm()).item()
    assert 0.5 <= ratio <= 1.0
    other = dm.train_set[(key[0], key[1] + 1)]
    assert not torch.equal(other["degraded"] / other["wav"].norm(), a["degraded"] / a["wav"].norm())
    assert "task" not in dm.vocab.labels


def test_named_tasks_become_a_label_drawn_per_item(synth_dir):
    dm = module(synth_dir, {"quiet": Scale(0.1), "loud": Scale(10.0)})
    assert dm.vocab.values["task"] == ["<null>", "quiet", "loud"]
    seen = set()
    for key in EpochSampler(len(dm.train_set), seed=0).keys():
        item = dm.train_set[key]
        task = dm.vocab.values["task"][int(item["cond"]["task"])]
        ratio = (item["degraded"].norm() / item["wav"].norm().clamp_min(1e-9)).item()
        assert (ratio < 0.25) if task == "quiet" else (ratio >= 10), (task, ratio)
        seen.add(task)
    assert seen == {"quiet", "loud"}
    batch = next(iter(dm.train_dataloader()))
    assert batch["degraded"].shape == batch["wav"].shape and batch["cond"]["task"].shape == (4,)


def test_with_a_level_the_degraded_clip_is_at_it_and_the_pair_keeps_its_ratio(synth_dir):
    from audiodiff.audio.loudness import rms_db

    dm = AudioDataModule(root=str(synth_dir), labels=[], segment_seconds=0.5, batch_size=4,
                         loudness_db=-23.0, degrade=Scale(4.0))  # fmt: skip
    dm.setup()
    checked = 0
    for key in EpochSampler(len(dm.train_set), seed=1).keys()[:10]:
        item = dm.train_set[key]
        if float(rms_db(item["degraded"])) < -70:  # a silent crop keeps its level
            continue
        checked += 1
        assert abs(float(rms_db(item["degraded"])) + 23.0) < 0.01
        ratio = (item["degraded"].norm() / item["wav"].norm()).item()
        assert 4.0 <= ratio <= 8.0  # Scale's gain, unchanged by the common one
    assert checked >= 5


def test_observation_fill_gives_the_model_its_gaps_filled_by_linear_prediction(synth_dir):
    import pytest

    from audiodiff.errors import ConfigError
    from audiodiff.restore.baselines import lpc_gap_fill
    from audiodiff.restore.gaps import Gaps

    gaps = Gaps(count=3, seconds=0.03, sample_rate=16000)
    common = dict(root=str(synth_dir), labels=[], segment_seconds=0.5, batch_size=4, degrade=gaps)
    zero, lpc = AudioDataModule(**common), AudioDataModule(**common, observation_fill="lpc")
    zero.setup(), lpc.setup()
    key = EpochSampler(len(zero.train_set), seed=1).keys()[0]
    holes, filled = zero.train_set[key]["degraded"], lpc.train_set[key]["degraded"]
    known = holes != 0  # the clips are not silent: exact zeros are the gaps
    assert (~known).sum() >= 3 * 480 and torch.equal(filled[known], holes[known])
    assert filled[~known].abs().max() > 0  # the gaps were filled ...
    expected = lpc_gap_fill(holes[None], 16000, known[None])[0]
    assert torch.allclose(filled, expected, atol=1e-6)  # ... by linear prediction
    with pytest.raises(ConfigError, match="observation_fill"):
        AudioDataModule(**common, observation_fill="magic").setup()
