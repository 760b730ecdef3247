"""UNet1d: shapes, zero init, conditioning, bad input, config sizes, and that it can learn."""

import math
import re

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from audiodiff.cli.config import config_dir
from audiodiff.nn.blocks import AttentionBlock, ResBlock, group_norm
from audiodiff.nn.unet import UNet1d

# the training loops here are tiny: a second thread only adds OpenMP synchronisation, and
# with anything else on the machine it made them several times slower (45 s against 6 s)
pytestmark = pytest.mark.usefixtures("one_thread")

LABELS = {"instrument": 9, "pitch": 26}
SIZES = {"tiny": (1e6, 3e6), "small": (10e6, 20e6), "base": (35e6, 65e6), "deep": (10e6, 11e6)}


def small_net(**overrides) -> UNet1d:
    torch.manual_seed(0)
    kwargs = dict(
        in_channels=6,
        channels=16,
        channel_mults=(1, 2, 2),
        num_res_blocks=1,
        attention_levels=(1, 2),
        num_heads=2,
        label_sizes=LABELS,
    )
    return UNet1d(**(kwargs | overrides))


def randomize_zeros(net: torch.nn.Module) -> torch.nn.Module:
    """Give every all-zero parameter (zero-initialised convs, null rows, norm biases) values."""
    with torch.no_grad():
        for p in net.parameters():
            if not p.any():
                p.normal_(std=0.3)
    return net


def ids(batch: int, **labels: int) -> dict[str, torch.Tensor]:
    return {k: torch.full((batch,), v) for k, v in labels.items()}


@pytest.mark.parametrize("t", [1, 7, 63, 100])
@pytest.mark.parametrize("batch", [1, 3])
def test_output_shape_matches_input_for_any_length(t, batch):
    net = randomize_zeros(small_net())
    out = net(torch.randn(batch, 6, t), torch.randn(batch))
    assert out.shape == (batch, 6, t) and out.abs().sum() > 0


def test_out_channels_default_mults_and_scalar_noise_level():
    net = UNet1d(in_channels=5, out_channels=3, channels=16, num_res_blocks=1, num_heads=2)
    assert net.downsample_factor == 4
    assert net(torch.randn(2, 5, 9), torch.tensor(0.3)).shape == (2, 3, 9)


def test_fresh_net_outputs_exact_zeros_until_the_output_conv_changes():
    net = small_net()
    x, s = torch.randn(3, 6, 20), torch.randn(3)
    assert torch.equal(net(x, s, ids(3, instrument=2)), torch.zeros(3, 6, 20))
    with torch.no_grad():
        net.out[-1].weight.normal_(std=0.1)
    assert net(x, s).abs().min() > 0


def test_labels_and_noise_level_change_the_output():
    net = randomize_zeros(small_net()).eval()
    x, s = torch.randn(2, 6, 24), torch.randn(2)
    base = net(x, s, ids(2, instrument=1, pitch=5))
    assert not torch.allclose(base, net(x, s, ids(2, instrument=2, pitch=5)))
    assert not torch.allclose(base, net(x, s, ids(2, instrument=1, pitch=6)))
    assert not torch.allclose(base, net(x, s + 0.1, ids(2, instrument=1, pitch=5)))


def test_a_missing_label_is_the_null_id_zero():
    net = randomize_zeros(small_net()).eval()
    x, s = torch.randn(2, 6, 24), torch.randn(2)
    assert torch.equal(net(x, s, ids(2, pitch=4)), net(x, s, ids(2, instrument=0, pitch=4)))
    assert torch.equal(net(x, s), net(x, s, ids(2, instrument=0, pitch=0)))
    assert torch.equal(net(x, s, {}), net(x, s, None))
    assert not torch.allclose(net(x, s), net(x, s, ids(2, instrument=3)))


def test_examples_do_not_mix_across_the_batch():
    net = randomize_zeros(small_net()).eval()
    x, s = torch.randn(3, 6, 17), torch.randn(3)
    cond = {"instrument": torch.tensor([1, 2, 3]), "pitch": torch.tensor([0, 7, 25])}
    out = net(x, s, cond)
    alone = net(x[1:2], s[1:2], {k: v[1:2] for k, v in cond.items()})
    torch.testing.assert_close(out[1:2], alone, atol=1e-5, rtol=1e-4)
    cond["pitch"] = torch.tensor([0, 8, 25])
    changed = net(x, s, cond)
    assert torch.equal(changed[0], out[0]) and not torch.allclose(changed[1], out[1])


def test_null_rows_start_at_zero_and_learn():
    net = small_net()
    table = net.label_embedding.tables["pitch"]
    assert not table.weight[0].any() and table.weight[1:].any()
    randomize_zeros(net)  # a trained net: its zero-initialised convs have moved
    net(torch.randn(2, 6, 8), torch.randn(2)).square().mean().backward()
    assert table.weight.grad[0].abs().sum() > 0


@pytest.mark.parametrize(
    "cond, message",
    [
        ({"instrumnet": torch.tensor([1])}, r"unknown label.*'instrumnet'.*instrument, pitch"),
        ({"instrument": torch.tensor([9])}, r"instrument.*\[0, 8\]"),
        ({"pitch": torch.tensor([-1])}, r"pitch.*\[0, 25\]"),
        ({"pitch": torch.tensor([1.0])}, r"integer"),
        ({"pitch": torch.tensor([1, 2])}, r"shape \[1\]"),
    ],
)
def test_bad_cond_raises_a_clear_value_error(cond, message):
    net = small_net()
    with pytest.raises(ValueError, match=message):
        net(torch.randn(1, 6, 8), torch.zeros(1), cond)


def test_a_net_without_labels_rejects_any_label():
    net = small_net(label_sizes=None)
    with pytest.raises(ValueError, match="valid labels: none"):
        net(torch.randn(1, 6, 8), torch.zeros(1), {"pitch": torch.tensor([1])})


def test_bad_construction_and_input_raise():
    with pytest.raises(ValueError, match="attention_levels"):
        small_net(attention_levels=(3,))
    with pytest.raises(ValueError, match="num_heads"):
        small_net(num_heads=3)
    with pytest.raises(ValueError, match=r"x must be \[B, 6, T\]"):
        small_net()(torch.randn(1, 5, 8), torch.zeros(1))


@pytest.mark.parametrize(
    "channels, groups", [(16, 4), (32, 8), (80, 20), (96, 24), (256, 32), (6, 1)]
)
def test_group_norm_divides_channels(channels, groups):
    assert group_norm(channels).num_groups == groups


def test_attention_matches_a_per_head_reference():
    torch.manual_seed(0)
    block = randomize_zeros(AttentionBlock(8, num_heads=2))
    x = torch.randn(2, 8, 5)
    q, k, v = block.qkv(block.norm(x)).reshape(2, 3, 2, 4, 5).unbind(1)  # each [B, H, D, T]
    w = torch.softmax(torch.einsum("bhdt,bhds->bhts", q, k) / math.sqrt(4), dim=-1)
    h = torch.einsum("bhts,bhds->bhdt", w, v).reshape(2, 8, 5)
    torch.testing.assert_close(block(x), x + block.proj(h), atol=1e-5, rtol=1e-5)


def model_config(name: str):
    return OmegaConf.load(config_dir() / "model" / f"{name}.yaml")


def test_every_model_config_has_a_stated_size():
    assert {p.stem for p in (config_dir() / "model").glob("*.yaml")} == set(SIZES)


@pytest.mark.parametrize("name", sorted(SIZES))
def test_model_configs_have_the_stated_size(name):
    with torch.device("meta"):
        net = instantiate(model_config(name))(in_channels=80, label_sizes=LABELS)
    n = sum(p.numel() for p in net.parameters())
    lo, hi = SIZES[name]
    assert isinstance(net, UNet1d) and lo <= n <= hi
    first_line = (config_dir() / "model" / f"{name}.yaml").read_text().splitlines()[0]
    stated = float(re.search(r"~([\d.]+)M parameters", first_line).group(1))
    assert abs(n / 1e6 - stated) < 0.05, f"comment says ~{stated}M, measured {n / 1e6:.2f}M"


def test_tiny_net_overfits_a_fixed_batch():
    torch.manual_seed(0)
    net = instantiate(model_config("tiny"))(in_channels=80, label_sizes=LABELS)
    x, target = torch.randn(4, 80, 16), torch.randn(4, 80, 16)
    s = torch.tensor([-1.0, -0.3, 0.4, 1.0])
    cond = {"instrument": torch.tensor([1, 2, 0, 8]), "pitch": torch.tensor([3, 0, 25, 9])}
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):  # measured: MSE 1.01 -> 0.0019
        loss = (net(x, s, cond) - target).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] <= losses[0] / 10, f"MSE {losses[0]:.3f} -> {losses[-1]:.3f}"


def test_an_observation_is_read_beside_x_and_changes_the_output():
    from audiodiff.nn.unet import UNet1d

    torch.manual_seed(0)
    net = UNet1d(in_channels=4, channels=8, channel_mults=(1, 2), num_res_blocks=1,
                 attention_levels=(), obs_channels=4, label_sizes={"task": 3})  # fmt: skip
    torch.nn.init.normal_(net.out[-1].weight)  # the zero-initialised output would hide it
    x, obs = torch.randn(2, 4, 16), torch.randn(2, 4, 16)
    task = torch.tensor([1, 2])
    a = net(x, torch.zeros(2), {"obs": obs, "task": task})
    b = net(x, torch.zeros(2), {"obs": 2 * obs, "task": task})
    zero = net(x, torch.zeros(2), {"task": task})
    assert a.shape == (2, 4, 16) and not torch.allclose(a, b)
    assert torch.allclose(
        zero, net(x, torch.zeros(2), {"obs": torch.zeros_like(obs), "task": task})
    )
    with pytest.raises(ValueError, match="obs"):
        net(x, torch.zeros(2), {"obs": obs[:, :3]})


def test_complex_gain_head_scales_each_observed_bin_and_keeps_its_phase():
    from audiodiff.nn.unet import UNet1d

    torch.manual_seed(0)
    net = UNet1d(in_channels=6, channels=8, channel_mults=(1,), num_res_blocks=1,
                 attention_levels=(), obs_channels=6, obs_head="complex_gain")  # fmt: skip
    x, obs = torch.randn(2, 6, 16), torch.randn(2, 6, 16)
    assert torch.equal(net(x, torch.zeros(2), {"obs": obs}), torch.zeros(2, 6, 16))
    with torch.no_grad():  # gain channels (6..8 of the output conv) -> bins 0, 1, 2 gains
        net.out[-1].bias[6:] = torch.tensor([0.5, -1.0, 2.0])
    gains = torch.tensor([0.5, -1.0, 2.0]).repeat(2)[None, :, None]  # Re and Im alike
    assert torch.allclose(net(x, torch.zeros(2), {"obs": obs}), gains * obs)
    with pytest.raises(ValueError, match="even number"):
        UNet1d(in_channels=5, channels=8, channel_mults=(1,), attention_levels=(),
               obs_channels=5, obs_head="complex_gain")  # fmt: skip
    with pytest.raises(ValueError, match="obs_head must be one of"):
        UNet1d(in_channels=6, channels=8, channel_mults=(1,), attention_levels=(),
               obs_channels=6, obs_head="mask")  # fmt: skip


def test_complex_gain_head_learns_a_level_gate_on_random_phases_far_better_than_the_plain_net():
    """Keep the loud bins of a random-phase spectrogram, drop the quiet ones: a level
    decision per bin. The plain net mixes the bins' random phases in its first convolution."""
    from audiodiff.nn.unet import UNet1d

    bins, t = 16, 32

    def batch(g):
        mag = torch.where(torch.rand(8, bins, t, generator=g) < 0.5, 1.0, 0.1)
        phase = 2 * torch.pi * torch.rand(8, bins, t, generator=g)
        obs = torch.cat([mag * phase.cos(), mag * phase.sin()], dim=1)
        return obs, obs * (mag > 0.5).repeat(1, 2, 1)

    losses = {}
    for head in ("none", "complex_gain"):
        torch.manual_seed(0)
        net = UNet1d(in_channels=2 * bins, channels=32, channel_mults=(1,), num_res_blocks=1,
                     attention_levels=(), obs_channels=2 * bins, obs_head=head)  # fmt: skip
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        g = torch.Generator().manual_seed(1)
        for _ in range(150):
            obs, target = batch(g)
            loss = (net(torch.zeros_like(obs), torch.zeros(8), {"obs": obs}) - target).square()
            opt.zero_grad()
            loss.mean().backward()
            opt.step()
        obs, target = batch(torch.Generator().manual_seed(99))
        with torch.no_grad():
            out = net(torch.zeros_like(obs), torch.zeros(8), {"obs": obs})
        losses[head] = float((out - target).square().mean() / target.square().mean())
    assert losses["complex_gain"] < 0.05 and losses["none"] > 5 * losses["complex_gain"], losses


def test_blocks_per_level_as_a_list_equal_the_number_form_and_set_each_level():
    """num_res_blocks=[n, n, n] builds the same net as n (same seed, same output); a list
    puts that many blocks down and one more up at each level, so the parameters move."""
    x, level = torch.randn(2, 6, 16), torch.tensor([0.3, -0.2])
    nets = []
    for blocks in ([2, 2, 2], 2):
        net = small_net(num_res_blocks=blocks)
        torch.manual_seed(1)
        nets.append(randomize_zeros(net))
    same, number = nets
    torch.testing.assert_close(same(x, level), number(x, level), rtol=0, atol=0)

    def blocks_at(net: UNet1d, width: int) -> int:  # residual blocks whose output is `width`
        return sum(
            1 for m in net.modules() if isinstance(m, ResBlock) and m.conv2.out_channels == width
        )

    uneven = small_net(channel_mults=(1, 2, 4), num_res_blocks=[1, 1, 3])
    # level widths 16, 32, 64: down n + up n + 1, and the two bottleneck blocks at 64
    assert [blocks_at(uneven, w) for w in (16, 32, 64)] == [3, 3, 7 + 2]
    assert uneven(x, level).shape == x.shape
    for bad in ([1, 1], [1, 0, 1], 0):
        with pytest.raises(ValueError, match="num_res_blocks must be an int >= 1 or one"):
            small_net(num_res_blocks=bad)


def test_input_skip_starts_at_zero_and_adds_a_gain_times_x():
    net = small_net(input_skip=True)
    x, s = torch.randn(3, 6, 20), torch.randn(3)
    assert torch.equal(net(x, s), torch.zeros(3, 6, 20))  # a fresh net still returns 0
    with torch.no_grad():
        net.input_skip.bias.copy_(torch.arange(6.0))  # gain c on channel c; the body is 0
    assert torch.allclose(net(x, s), torch.arange(6.0)[None, :, None] * x)
    with pytest.raises(ValueError, match="input_skip needs out_channels == in_channels"):
        small_net(input_skip=True, out_channels=4)


def test_input_skip_lets_a_narrow_net_pass_noise_a_plain_net_cannot():
    """Flow's velocity target on zero data is the noise itself: v = n, from x_t = t n. A net
    4 channels wide cannot carry 24 channels of white noise to its output; the input skip's
    gain (1 / t, read from the noise level) can."""
    bins, t = 24, 16
    losses = {}
    for skip in (False, True):
        torch.manual_seed(0)
        net = UNet1d(in_channels=bins, channels=4, channel_mults=(1,), num_res_blocks=1,
                     attention_levels=(), num_heads=1, input_skip=skip)  # fmt: skip
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        g = torch.Generator().manual_seed(1)
        for _ in range(100):
            noise, tt = torch.randn(8, bins, t, generator=g), torch.rand(8, generator=g)
            tt = 0.2 + 0.6 * tt
            loss = (net(tt[:, None, None] * noise, tt) - noise).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        noise, tt = torch.randn(8, bins, t), torch.linspace(0.2, 0.8, 8)
        with torch.no_grad():
            losses[skip] = float((net(tt[:, None, None] * noise, tt) - noise).square().mean())
    # measured: 0.018 with the skip, 0.83 without (the 4/24 of the noise that fits: 1 - 4/24)
    assert losses[True] < 0.1 and losses[False] > 0.5, losses
