"""Timing conditioning (seconds_start, seconds_total): the embedding, its null, its dropout
with the labels, guidance, and that a net learns where onsets are from it."""

import pytest
import torch

from audiodiff.diffusion.loss import EDMLoss, drop_labels
from audiodiff.diffusion.precond import Denoiser
from audiodiff.generation import sample
from audiodiff.nn.timing import TIMING_KEYS
from audiodiff.nn.unet import UNet1d
from audiodiff.sampling.guidance import classifier_free_guidance


def net(timing: bool = True, **overrides) -> UNet1d:
    torch.manual_seed(0)
    kwargs = dict(
        channels=16,
        channel_mults=(1, 2),
        num_res_blocks=1,
        attention_levels=(),
        label_sizes={"instrument": 3},
    )
    return UNet1d(4, timing=timing, **(kwargs | overrides))


def trained_like(model: UNet1d) -> UNet1d:
    """Values for every all-zero parameter (zero-initialised convs, null rows and vectors)."""
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.normal_(std=0.3)
    return model.eval()


def timing(start: float, total: float, b: int = 2) -> dict[str, torch.Tensor]:
    return {"seconds_start": torch.full((b,), start), "seconds_total": torch.full((b,), total)}


def test_seconds_start_and_total_change_the_output_and_missing_is_the_null():
    model = trained_like(net())
    x, s = torch.randn(2, 4, 16), torch.randn(2)
    base = model(x, s, timing(0.0, 2.0))
    assert not torch.allclose(base, model(x, s, timing(0.5, 2.0)))
    assert not torch.allclose(base, model(x, s, timing(0.0, 3.0)))
    null = model(x, s, timing(float("nan"), float("nan")))
    assert torch.equal(null, model(x, s, {})) and torch.equal(null, model(x, s))
    assert not torch.allclose(null, base)  # null is its own value, not 0 s
    half = {**timing(1.0, 1.0), "seconds_start": torch.tensor([0.0, float("nan")])}
    out = model(x, s, half)  # per example: row 0 reads 0 s, row 1 the null
    alone = model(x[1:], s[1:], timing(float("nan"), 1.0, 1))[0]
    torch.testing.assert_close(out[1], alone, atol=1e-5, rtol=1e-4)


def test_the_null_vectors_start_at_zero_and_learn():
    model = trained_like(net())
    null = model.timing_embedding.numbers["seconds_start"].null
    assert net().timing_embedding.numbers["seconds_start"].null.abs().sum() == 0
    model(torch.randn(2, 4, 8), torch.randn(2), {}).square().mean().backward()
    assert null.grad.abs().sum() > 0


def test_a_net_without_timing_refuses_timing_keys_and_is_the_net_it_always_was():
    plain = net(timing=False)
    with pytest.raises(ValueError, match="no timing"):
        plain(torch.randn(2, 4, 8), torch.zeros(2), timing(0.0, 1.0))
    assert not any("timing" in k for k in plain.state_dict())
    torch.manual_seed(0)  # timing=False draws nothing more: the same weights from a seed
    old = UNet1d(4, label_sizes={"instrument": 3}, channels=16, channel_mults=(1, 2),
                 num_res_blocks=1, attention_levels=())  # fmt: skip
    assert all(
        torch.equal(a, b)
        for a, b in zip(old.state_dict().values(), plain.state_dict().values(), strict=True)
    )


@pytest.mark.parametrize(
    "value, message",
    [
        (torch.tensor([-1.0, 0.0]), "seconds >= 0"),
        (torch.tensor([float("inf"), 0.0]), "seconds >= 0"),
        (torch.tensor([1, 2]), "float tensor"),
        (torch.tensor([1.0, 2.0, 3.0]), r"shape \[2\]"),
    ],
)
def test_bad_timing_values_raise_a_clear_value_error(value, message):
    with pytest.raises(ValueError, match=message):
        net()(torch.randn(2, 4, 8), torch.zeros(2), {"seconds_start": value})


def test_a_label_named_like_a_timing_key_clashes():
    with pytest.raises(ValueError, match="clashes"):
        UNet1d(4, channels=16, label_sizes={"seconds_start": 3}, timing=True)


def test_label_dropout_nulls_the_timing_of_the_same_examples():
    b = 64
    cond = {
        "instrument": torch.randint(1, 3, (b,)),
        **timing(1.5, 4.0, b),
        "obs": torch.ones(b, 4, 8),  # an observation still drops to zeros
    }
    out = drop_labels(cond, 0.5, generator=torch.Generator().manual_seed(3))
    dropped = out["instrument"] == 0
    assert 10 < int(dropped.sum()) < 54
    for key in TIMING_KEYS:
        assert torch.equal(out[key].isnan(), dropped)
        assert torch.equal(out[key][~dropped], cond[key][~dropped])
    assert torch.equal(out["obs"].flatten(1).any(1), ~dropped)
    again = drop_labels(cond, 0.5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again["seconds_total"].isnan(), dropped)


def test_guidance_nulls_the_timing_in_the_unconditional_branch():
    calls = []

    def denoiser(x, sigma, cond):
        calls.append(cond)
        return x * 0 + cond["seconds_start"].nan_to_num(-1.0)[:, None, None]

    cond = {"instrument": torch.tensor([2, 1]), **timing(0.5, 3.0)}
    out = classifier_free_guidance(denoiser, 3.0)(torch.zeros(2, 1, 4), torch.ones(2), cond)
    both = calls[0]
    assert (
        both["seconds_start"][:2].tolist() == [0.5, 0.5] and both["seconds_start"][2:].isnan().all()
    )
    assert both["seconds_total"][2:].isnan().all() and both["instrument"][2:].tolist() == [0, 0]
    torch.testing.assert_close(out, torch.full((2, 1, 4), -1.0 + 3.0 * 1.5))


C, T, LENGTH, RATE = 4, 16, 64, 10.0  # features, crop frames, file frames, frames per second


def crops(files: torch.Tensor, g: torch.Generator, b: int = 32):
    """Random crops of ``files`` [N, C, LENGTH] with their timing; half start at frame 0, as
    a one-shot set's crops often do."""
    which = torch.randint(len(files), (b,), generator=g)
    start = torch.randint(8, LENGTH - T + 1, (b,), generator=g)
    start = torch.where(torch.rand(b, generator=g) < 0.5, 0, start)
    x = torch.stack(
        [files[i, :, s : s + T] for i, s in zip(which.tolist(), start.tolist(), strict=True)]
    )
    return x, {"seconds_start": start / RATE, "seconds_total": torch.full((b,), LENGTH / RATE)}


@pytest.mark.parametrize("use_timing", [True, False])
def test_onsets_follow_seconds_start(use_timing, one_thread):
    """Files with a burst in their first 3 frames only: a timing net draws the burst at frame
    0 for seconds_start 0 and never later; the same net trained on null timing cannot tell
    (the control: the assertion has to be able to fail)."""
    g = torch.Generator().manual_seed(0)
    files = 0.05 * torch.randn(8, C, LENGTH, generator=g)
    files[:, :, :3] += 1.0
    denoiser = Denoiser(net(label_sizes=None), sigma_data=0.5)
    loss = EDMLoss(sigma_data=0.5, cond_dropout=0.1)
    opt = torch.optim.Adam(denoiser.parameters(), lr=3e-3)
    for _ in range(200):
        x, cond = crops(files, g)
        if not use_timing:
            cond = {k: torch.full_like(v, float("nan")) for k, v in cond.items()}
        opt.zero_grad(set_to_none=True)
        loss(denoiser, x, cond).backward()
        opt.step()
    denoiser.eval()

    def onsets(start: float) -> torch.Tensor:  # mean of each drawn clip's first 3 frames [16]
        cond = {"seconds_start": torch.full((16,), start), "seconds_total": torch.full((16,), 6.4)}
        x = sample(denoiser, (16, C, T), cond=cond, sampler="heun", steps=12, sigma_max=20.0,
                   generator=torch.Generator().manual_seed(1))  # fmt: skip
        return x[:, :, :3].mean(dim=(1, 2))

    at_start, later = onsets(0.0), onsets(2.0)
    follows = bool((at_start > 0.5).all() and (later.abs() < 0.25).all())
    assert follows == use_timing, f"first frames at 0 s: {at_start}, at 2 s: {later}"
