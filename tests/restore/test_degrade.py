"""Degradation operators against measurements made here, not against their own formulas:
SNR on the active signal, clip levels, stop-band attenuation, gap spans, quantiser levels,
RT60 from the energy decay curve, determinism of the composed mix from conf/degrade/."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from scipy import signal

from audiodiff.cli.config import compose, config_dir
from audiodiff.errors import ConfigError
from audiodiff.restore.degrade import (
    AddNoise,
    ColoredNoise,
    Compose,
    FolderNoise,
    Gaps,
    HardClip,
    IIRLowPass,
    LowPass,
    MainsHum,
    MuLaw,
    OneOf,
    Quantize,
    Resample,
    Reverb,
    SoftClip,
    describe,
)
from audiodiff.restore.noise import active_mask

SR = 8000
LOUD, QUIET, SILENT = 1920, 1920, 640  # samples: 12 + 12 + 4 frames of 20 ms


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def speechlike(seed: int = 0) -> torch.Tensor:
    """A loud part (two tones), a part 60 dB below it, digital silence: [2, 1, 4480]."""
    t = torch.arange(LOUD) / SR
    rng = gen(seed + 100)
    clips = []
    for f in (220.0, 330.0):
        loud = 0.5 * torch.sin(2 * math.pi * f * t) + 0.1 * torch.randn(LOUD, generator=rng)
        quiet = 1e-3 * 0.5 * torch.sin(2 * math.pi * f * t[:QUIET])
        clips.append(torch.cat([loud, quiet, torch.zeros(SILENT)]))
    return torch.stack(clips)[:, None]


@pytest.fixture(scope="module")
def noise_dir(tmp_path_factory):
    """Four recordings (one shorter than a test clip, so it loops; one with a pause), a
    corrupt file and an all-zero one, which FolderNoise leaves out."""
    root = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    sf.write(root / "a.wav", 0.2 * np.sin(2 * np.pi * 500 * t), SR)
    sf.write(root / "b.wav", 0.1 * rng.standard_normal(SR // 4), SR)  # loops
    paused = 0.3 * rng.standard_normal(2 * SR)
    paused[SR // 2 : SR] = 0
    sf.write(root / "c.wav", paused, SR)
    sf.write(root / "d.wav", 0.05 * np.sign(np.sin(40 * t)), SR)
    (root / "junk.wav").write_bytes(b"RIFF" + bytes(40))
    sf.write(root / "zero.wav", np.zeros(SR), SR)
    return root


SOURCES = {
    "white": lambda d: ColoredNoise(exponent=0),
    "pink": lambda d: ColoredNoise(exponent=1),
    "brown": lambda d: ColoredNoise(exponent=2),
    "hum": lambda d: MainsHum(),
    "music": lambda d: FolderNoise(str(d), clips=1),
    "babble": lambda d: FolderNoise(str(d), clips=[3, 4]),
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_snr_is_hit_on_the_active_signal(source, noise_dir):
    x = speechlike()
    op = AddNoise({source: SOURCES[source](noise_dir)}, sample_rate=SR, snr_db=[-5, 25])
    for seed in range(4):
        y, params = op(x, gen(seed))
        n = (y - x).double()
        s = x.double()
        # the active part is the loud one (the quiet part is 60 dB down, then zeros)
        active = 10 * torch.log10(s[..., :LOUD].pow(2).mean(-1) / n[..., :LOUD].pow(2).mean(-1))
        whole = 10 * torch.log10(s.pow(2).mean(-1) / n.pow(2).mean(-1))
        assert torch.all((active - params["snr_db"]).abs() < 0.5), (active, params)
        if source == "white":  # stationary: on the whole clip the SNR is 3.7 dB lower
            assert torch.all((whole - params["snr_db"] + 3.68).abs() < 0.5)
        assert params["source"] == source and -5 <= params["snr_db"] <= 25
        assert params["active_fraction"] == pytest.approx([LOUD / x.shape[-1]] * 2, abs=1e-9)
    json.dumps(params)


def test_active_mask_leaves_out_frames_40_db_down():
    x = speechlike()
    mask = active_mask(x, SR)
    assert mask[..., :LOUD].all() and not mask[..., LOUD:].any()
    assert active_mask(x, SR, silence_db=80)[..., : LOUD + QUIET].all()


def test_folder_noise_skips_bad_files_loops_and_names_its_clips(noise_dir):
    source = FolderNoise(str(noise_dir), clips=[3, 3])
    noise, params = source(1, 3 * SR, SR, gen(1))
    assert len(params["files"]) == len(set(params["files"])) == 3
    assert set(params["files"]) <= {"a.wav", "b.wav", "c.wav", "d.wav"}
    assert len(source.skipped) == 2 and any("junk.wav" in s for s in source.skipped)
    assert any("zero.wav" in s for s in source.skipped)
    assert torch.isfinite(noise).all() and noise.abs().amax() > 0
    short, p = FolderNoise(str(noise_dir))(1, 3 * SR, SR, gen(0))  # one clip, maybe b (looped)
    assert short.shape == (1, 1, 3 * SR) and len(p["files"]) == 1
    with pytest.raises(ConfigError, match="folder not found"):
        FolderNoise(str(noise_dir / "nope"))


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_colored_noise_has_the_asked_spectral_slope(exponent):
    noise, _ = ColoredNoise(exponent=exponent)(4, 2**15, SR, gen(0))
    f, psd = signal.welch(noise[:, 0].numpy(), SR, nperseg=4096)
    band = (f > 20) & (f < 2000)
    slope = np.polyfit(np.log10(f[band]), np.log10(psd.mean(0)[band]), 1)[0]
    assert slope == pytest.approx(-exponent, abs=0.15)


def test_mains_hum_is_at_the_mains_frequency_and_its_harmonics():
    hum, params = MainsHum(mains_hz=[50, 60], harmonics=3, decay=0.5)(1, SR, SR, gen(3))
    spectrum = torch.fft.rfft(hum[0, 0]).abs()  # 1 Hz bins
    top = sorted(spectrum.argsort(descending=True)[:3].tolist())
    f0 = int(params["mains_hz"])
    assert f0 in (50, 60) and top == [f0, 2 * f0, 3 * f0]
    assert spectrum[2 * f0] / spectrum[f0] == pytest.approx(0.5, rel=1e-3)


def test_hard_clip_level_is_exact_and_unclipped_samples_are_untouched():
    x = speechlike()
    for seed in range(3):
        result = HardClip(level=[0.2, 0.8])(x, gen(seed))
        y, params = result
        peak = x.abs().amax(dim=-1, keepdim=True)
        t = params["level"] * peak
        assert torch.equal(y.abs().amax(dim=-1, keepdim=True), t)
        mask = result.masks["unclipped"]
        assert torch.equal(mask, x.abs() < t) and torch.equal(y[mask], x[mask])
        assert torch.equal(y[~mask].abs(), t.expand_as(x)[~mask])
        assert params["threshold"] == [float(v) for v in t.flatten()]
        assert 0 < params["clipped_fraction"][0] < 1


def test_soft_clip_saturates_below_the_threshold_and_keeps_the_linear_part():
    x = torch.linspace(-1, 1, 2001).view(1, 1, -1)
    result = SoftClip(level=0.5, knee=0.4)(x, gen(0))
    y, params = result
    assert y.abs().max() < 0.5 and torch.all(y[..., 1:] > y[..., :-1])  # monotonic, below t
    mask = result.masks["unclipped"]
    assert torch.equal(mask, x.abs() <= 0.2) and torch.equal(y[mask], x[mask])
    pure, _ = SoftClip(level=0.5)(x, gen(0))
    assert torch.allclose(pure, 0.5 * torch.tanh(x / 0.5))


def _stopband_db(op, cutoff_key="cutoff_hz"):
    x = 0.3 * torch.randn(1, 1, 4 * SR, generator=gen(7))
    y, params = op(x, gen(1))
    f, p_in = signal.welch(x[0, 0].numpy(), SR, nperseg=1024)
    _, p_out = signal.welch(y[0, 0].numpy(), SR, nperseg=1024)
    cutoff = params[cutoff_key]
    passband = p_in[(f > 100) & (f < 0.5 * cutoff)].mean()
    return 10 * np.log10(p_out[f >= 1.05 * cutoff].max() / passband), params


@pytest.mark.parametrize(
    "op",
    [
        LowPass(cutoff_hz=[1000, 3000], sample_rate=SR),
        IIRLowPass(cutoff_hz=2000, sample_rate=SR, order=4),
        IIRLowPass(cutoff_hz=1500, sample_rate=SR, order=12),
        Resample(rate_hz=[3000, 5000], sample_rate=SR),
    ],
    ids=["fft", "iir4", "iir12", "resample"],
)
def test_lowpass_attenuates_at_least_40_db_above_the_cutoff(op):
    attenuation, params = _stopband_db(op)
    assert attenuation < -40, (attenuation, params)
    assert 0 < params["cutoff_hz"] < SR / 2


def test_brick_wall_lowpass_keeps_the_passband_and_is_a_projection():
    x = torch.randn(2, 1, 4000, generator=gen(0))
    op = LowPass(cutoff_hz=1000, sample_rate=SR)
    y, _ = op(x, gen(0))
    spec_x, spec_y = torch.fft.rfft(x), torch.fft.rfft(y)
    freqs = torch.fft.rfftfreq(4000, 1 / SR)
    assert torch.allclose(spec_y[..., freqs < 1000], spec_x[..., freqs < 1000], atol=1e-3)
    assert spec_y[..., freqs >= 1000].abs().max() < 1e-3
    assert torch.allclose(op(y, gen(0)).wav, y, atol=1e-6)


def _zero_runs(row: torch.Tensor) -> list[list[int]]:
    zero = np.concatenate([[0], (row.numpy() == 0).astype(int), [0]])
    edges = np.flatnonzero(np.diff(zero))
    return [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2], strict=True)]


def test_gaps_are_exact_zeros_with_count_and_lengths_in_range():
    x = 0.5 + torch.rand(2, 1, SR, generator=gen(0))  # no zero sample of its own
    op = Gaps(count=[1, 5], seconds=[0.01, 0.05], sample_rate=SR)
    counts = set()
    for seed in range(10):
        result = op(x, gen(seed))
        y, params = result
        runs = _zero_runs(y[0, 0])
        assert runs == params["spans"] == _zero_runs(y[1, 0])
        assert 1 <= len(runs) == params["count"] <= 5
        assert all(80 <= b - a <= 400 for a, b in runs)  # 0.01 .. 0.05 s at 8 kHz
        known = result.masks["known"]
        assert torch.equal(known, y != 0) and torch.equal(y[known], x[known])
        counts.add(len(runs))
    assert len(counts) > 2  # the count is drawn


def test_gaps_that_do_not_fit_are_dropped_not_overlapped():
    x = torch.ones(1, 1, 1000)
    y, params = Gaps(count=5, seconds=0.05, sample_rate=SR)(x, gen(0))  # 400 samples each
    assert params["count"] == 2 and _zero_runs(y[0, 0]) == params["spans"]
    assert y.eq(0).sum() == 800


def test_gaps_that_just_fit_are_one_sample_apart():
    y, params = Gaps(count=2, seconds=0.05, sample_rate=SR)(torch.ones(1, 1, 801), gen(0))
    assert params["spans"] == [[0, 400], [401, 801]] == _zero_runs(y[0, 0])


@pytest.mark.parametrize("bits", [3, 6])
def test_quantize_has_2_to_the_bits_levels_on_the_grid(bits):
    x = torch.linspace(-1, 1, 20001).view(1, 1, -1)
    y, params = Quantize(bits=bits)(x, gen(0))
    levels = torch.unique(y)
    assert len(levels) == 2**bits and params["step"] == 2.0 ** (1 - bits)
    assert torch.equal(torch.round(levels / params["step"]) * params["step"], levels)
    assert (y - x).abs().max() <= params["step"]  # half a step, one step at +1


def test_mu_law_has_2_to_the_bits_levels_dense_near_zero():
    x = torch.linspace(-1, 1, 200001).view(1, 1, -1)
    y, params = MuLaw(bits=6)(x, gen(0))
    levels = torch.unique(y).double()
    assert len(levels) == 2**6 and params["mu"] == 255.0
    gaps = levels.diff()
    assert gaps[len(gaps) // 2] * 20 < gaps[-1]  # steps near 0 are much finer than near 1
    y_lo, _ = MuLaw(bits=6)(0.01 * x, gen(0))
    y_uni, _ = Quantize(bits=6)(0.01 * x, gen(0))
    assert (y_lo - 0.01 * x).abs().max() < (y_uni - 0.01 * x).abs().max() / 4


def _rt60_from_edc(h: np.ndarray) -> float:
    """Schroeder's backward-integrated energy decay curve, T20 (-5 to -25 dB) times 3."""
    edc = np.cumsum(h[::-1] ** 2)[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    fit = (edc_db <= -5) & (edc_db >= -25)
    slope = np.polyfit(np.arange(len(h))[fit] / SR, edc_db[fit], 1)[0]
    return -60 / slope


@pytest.mark.parametrize("rt60", [0.3, 0.8])
def test_reverb_decays_at_the_asked_rt60_and_keeps_the_direct_path(rt60):
    impulse = torch.zeros(1, 1, SR)
    impulse[..., 0] = 1
    h, params = Reverb(rt60=rt60, sample_rate=SR, drr_db=[0, 10])(impulse, gen(2))
    h = h[0, 0].double().numpy()
    assert h[0] == pytest.approx(1, abs=1e-6)  # the direct path
    assert _rt60_from_edc(h[1:]) == pytest.approx(rt60, rel=0.1)
    drr = 10 * np.log10(1 / np.sum(h[1:] ** 2))
    assert drr == pytest.approx(params["drr_db"], abs=0.01)


def test_reverb_is_the_convolution_with_its_impulse_response():
    x = speechlike()
    op = Reverb(rt60=0.2, sample_rate=SR, drr_db=3)
    impulse = torch.zeros(1, 1, x.shape[-1])
    impulse[..., 0] = 1
    h = op(impulse, gen(5)).wav[0, 0].double().numpy()
    y = op(x, gen(5)).wav
    for i in range(2):
        expected = np.convolve(x[i, 0].double().numpy(), h)[: x.shape[-1]]
        assert np.allclose(y[i, 0].numpy(), expected, atol=1e-5)


def _config_ops(noise_dir) -> dict:
    files = sorted((config_dir() / "degrade").glob("*.yaml"))
    # options that read subfolders of noise_dir (speech_noise: talkers/ and music/ inside it)
    parent = noise_dir.parent / f"{noise_dir.name}_parent"
    if not parent.exists():
        parent.mkdir()
        for name in ("speech", "music"):
            (parent / name).symlink_to(noise_dir, target_is_directory=True)
    ops = {}
    for path in files:
        cfg = _config(path.stem, noise_dir)
        if "${noise_dir}/" in OmegaConf.to_yaml(cfg):  # it reads subfolders of noise_dir
            cfg = _config(path.stem, parent)
        op = instantiate(cfg, _convert_="all")
        if isinstance(op, dict):  # tasks.yaml: named operators, one per task
            ops.update({f"{path.stem}.{task}": task_op for task, task_op in op.items()})
        else:
            ops[path.stem] = op
    return ops


def _config(name: str, noise_dir):
    args = [f"noise_dir={noise_dir}", "sample_rate=16000", "in=x", "out=y"]
    return compose("degrade_data", [f"degrade={name}", *args]).degrade


def test_every_config_option_degrades_deterministically(noise_dir):
    ops = _config_ops(noise_dir)
    assert {"mix", "none", "noise", "clip", "lowpass", "gaps"} <= set(ops)
    x = speechlike()
    for name, op in ops.items():
        a, b, c = op(x, gen(11)), op(x, gen(11)), op(x, gen(12))
        assert torch.equal(a.wav, b.wav) and a.params == b.params, name
        json.loads(json.dumps(a.params))
        assert a.wav.shape == x.shape and torch.isfinite(a.wav).all(), name
        if name == "none":
            assert torch.equal(a.wav, x) and describe(a.params) == "none"
        else:
            assert not torch.equal(a.wav, c.wav) or a.params != c.params, name


def test_the_mix_applies_each_task_over_many_seeds(noise_dir):
    mix = _config_ops(noise_dir)["mix"]
    x = speechlike()
    seen = set()
    for seed in range(60):
        result = mix(x, gen(seed))
        seen |= {leaf.split(".")[0] for leaf in result.params["ops"]}
        if "gaps" in result.params["steps"]:
            known = result.masks["known"]
            assert (~known).any() and result.wav[~known].eq(0).all()  # gaps come last
    assert seen == {"reverb", "lowpass", "noise", "clip", "quantize", "gaps"}


def test_compose_probabilities_order_and_masks():
    x = speechlike()
    clip, gaps = HardClip(level=0.5), Gaps(count=2, seconds=0.01, sample_rate=SR)
    always = Compose({"clip": clip, "gaps": gaps})
    result = always(x, gen(0))
    assert result.params["ops"] == ["clip", "gaps"] and describe(result.params) == "clip+gaps"
    assert set(result.masks) == {"unclipped", "known"}
    clipped, _ = clip(x, gen(0))
    assert torch.equal(result.wav[result.masks["known"]], clipped[result.masks["known"]])
    never = Compose({"clip": clip, "gaps": gaps}, p={"clip": 0.0, "gaps": 0.0})
    assert torch.equal(never(x, gen(0)).wav, x) and never(x, gen(0)).params["ops"] == []
    one = OneOf({"a": HardClip(level=0.5), "b": Quantize(bits=2)}, weights={"a": 0.0})
    assert all(one(x, gen(s)).params["chosen"] == "b" for s in range(5))
    tiny = torch.zeros(1, 1, 8)
    sometimes = Compose({"a": Quantize(bits=2), "b": Quantize(bits=3)}, p={"a": 0.3, "b": 0.8})
    applied = [sometimes(tiny, gen(s)).params["steps"] for s in range(1000)]
    assert sum("a" in a for a in applied) / 1000 == pytest.approx(0.3, abs=0.05)
    assert sum("b" in a for a in applied) / 1000 == pytest.approx(0.8, abs=0.05)
    nested = Compose({"q": one})
    assert describe(nested(x, gen(0)).params) == "q.b"
    same = Compose({"a": Gaps(count=1, seconds=0.01, sample_rate=SR), "b": gaps})
    r = same(0.5 + torch.rand(2, 1, SR, generator=gen(0)), gen(3))
    first, second = r.params["steps"]["a"]["spans"], r.params["steps"]["b"]["spans"]
    assert _zero_runs(r.wav[0, 0]) != first and len(first) == 1 and len(second) == 2
    assert torch.equal(r.masks["known"], r.wav != 0)  # both gap sets: the masks ANDed


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: AddNoise({"w": ColoredNoise()}, SR, snr_db=[20, 5]), "reversed"),
        (lambda: AddNoise({}, SR), "at least one noise source"),
        (lambda: HardClip(level=1.5), "HardClip.level: must be <= 1"),
        (lambda: HardClip(level=[0.1, 0.2, 0.3]), r"\[lo, hi\]"),
        (lambda: HardClip(level="loud"), "expected a number"),
        (lambda: LowPass(cutoff_hz=4000, sample_rate=SR), "not below Nyquist"),
        (lambda: Resample(rate_hz=9000, sample_rate=SR), "Resample.rate_hz"),
        (lambda: Quantize(bits=2.5), "whole numbers"),
        (lambda: Gaps(count=-1, seconds=0.1, sample_rate=SR), "Gaps.count"),
        (lambda: Reverb(rt60=0, sample_rate=SR), "Reverb.rt60: must be > 0"),
        (lambda: Compose({"a": HardClip()}, p={"b": 0.5}), "b is not an operator here"),
        (lambda: Compose({"a": HardClip()}, p={"a": 2}), "Compose.p.a"),
        (lambda: Compose({"a": {"level": 0.5}}), "not an operator"),
        (lambda: OneOf({}), "at least one operator"),
        (lambda: FolderNoise(None), "noise_dir"),
    ],
)
def test_bad_parameters_are_one_line_config_errors(make, message):
    with pytest.raises(ConfigError, match=message) as info:
        make()
    assert "\n" not in str(info.value)


def test_shape_is_checked():
    with pytest.raises(ValueError, match=r"\[B, 1, N\]"):
        HardClip()(torch.zeros(2, 100), gen(0))
