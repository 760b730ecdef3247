"""`audiodiff restore`: both routes run, keep what is trusted, and refuse what they should.

Models here are trained for two steps: the tests check the mechanics (lengths, rates, kept
samples, refusals), not the sound; `make bench-restore` measures quality.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiodiff.cli.main import main


@pytest.fixture(scope="module")
def conditional(synth_dir, tmp_path_factory) -> Path:
    """experiment=denoise_speech_cpu for two steps on the synth set (noise: the synth set)."""
    tmp = tmp_path_factory.mktemp("denoiser")
    noise = tmp / "noise"
    noise.mkdir()
    for name in ("speech", "music"):
        (noise / name).symlink_to(synth_dir, target_is_directory=True)
    args = [
        "experiment=denoise_speech_cpu",
        f"run_dir={tmp / 'run'}",
        f"data.root={synth_dir}",
        f"noise_dir={noise}",
        "trainer.max_steps=2",
        "data.batch_size=2",
        "data.segment_seconds=0.5",
        "band_envelope=true",
    ]
    assert main(["train", *args]) == 0
    return tmp / "run" / "model"


def write(path: Path, wav: np.ndarray, sr: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wav, sr, subtype="FLOAT")
    return path


def tone(seconds: float, sr: int) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 1500 * t)).astype(
        np.float32
    )


def test_conditional_denoising_writes_the_input_rate_and_length(conditional, tmp_path, capsys):
    noisy = tone(1.3, 22050) + 0.05 * np.random.default_rng(0).standard_normal(28665)
    src = write(tmp_path / "in" / "a b.wav", noisy.astype(np.float32), 22050)
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF nonsense")
    out = tmp_path / "out"
    args = [f"ckpt={conditional}", f"in={src.parent}", f"out={out}", "steps=2"]
    assert main(["restore", *args]) == 0
    text = capsys.readouterr()
    assert "restored 1 files" in text.out and "skipped 1 unreadable" in text.out
    restored, sr = sf.read(out / "a b.wav")
    assert sr == 22050 and restored.shape == noisy.shape and np.isfinite(restored).all()
    report = json.loads((out / "restore.json").read_text())
    assert report["conditional"] is True and report["real_time_factor"] > 0
    assert (out / "spectrograms.png").stat().st_size > 1000
    # a second run refuses the filled output folder, and nothing may land in the inputs
    assert main(["restore", *args]) == 2
    assert "not empty" in capsys.readouterr().err
    inside = [f"ckpt={conditional}", f"in={src.parent}", f"out={src.parent / 'x'}"]
    assert main(["restore", *inside]) == 2
    assert "inside the input folder" in capsys.readouterr().err


def test_bad_options_are_one_line(conditional, tmp_path, capsys):
    src = write(tmp_path / "a.wav", tone(0.5, 16000), 16000)
    for bad, words in [
        ("task=bandwidth", "cutoff_hz"),
        ("task=shout", "task must be one of"),
        ("steps=0", "steps >= 1"),
        ("overlap_seconds=9", "overlap_seconds"),
        ("threads=0", "threads must be"),
        ("sigma_start=0", "sigma_start must be > 0"),
    ]:
        code = main(["restore", f"ckpt={conditional}", f"in={src}", f"out={tmp_path / 'o'}", bad])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and words in err, (bad, err)
        assert not (tmp_path / "o").exists()


def test_a_recording_is_restored_at_the_training_level_whatever_its_own(conditional):
    """match_level: 10x louder in, exactly 10x louder out (the model saw the same input);
    without it the compressed STFT sees another level and the result is not 10x."""
    from audiodiff.pipeline import load
    from audiodiff.restore.restorer import RestoreOptions, restore

    pipe = load(conditional, "cpu")
    assert pipe.config["data"]["loudness_db"] == -23.0
    noisy = tone(1.0, 16000) + 0.05 * np.random.default_rng(1).standard_normal(16000)
    wav = torch.from_numpy(noisy.astype(np.float32))[None] * 0.1
    for match, close in ((True, True), (False, False)):
        opts = RestoreOptions(steps=2, match_level=match)
        quiet, loud = restore(pipe, wav, opts), restore(pipe, 10 * wav, opts)
        assert torch.allclose(loud, 10 * quiet, rtol=1e-4, atol=1e-5) is close, match


def test_bandwidth_raises_the_new_band_to_the_trained_envelope(conditional):
    """band_envelope=true fits the band levels on the training clips; restore scales the
    model's new band with it (band_level), and either way keeps the observed band."""
    from audiodiff.pipeline import load
    from audiodiff.restore.operators import LowBand
    from audiodiff.restore.restorer import RestoreOptions, restore

    pipe = load(conditional, "cpu")
    assert len(pipe.config["band_envelope"]["mean"]) == 32  # 250 Hz bands up to 8 kHz
    rng = np.random.default_rng(2)
    wav = torch.from_numpy(rng.standard_normal(16000).astype(np.float32) * 0.1)[None]
    low = torch.fft.irfft(LowBand(wav[None], 4000, 16000).y_low, n=16000)[0]
    outs = {
        on: restore(pipe, low, RestoreOptions(task="bandwidth", cutoff_hz=4000, band_level=on))
        for on in (True, False)
    }
    band = torch.fft.rfftfreq(16000, 1 / 16000) >= 4000
    high = {on: torch.fft.rfft(out)[0, band].abs().square().sum() for on, out in outs.items()}
    assert not torch.allclose(high[True], high[False], rtol=0.05)  # the envelope moved it
    for out in outs.values():
        a, b = torch.fft.rfft(out)[0, ~band], torch.fft.rfft(low)[0, ~band]
        assert (a - b).abs().max() < 1e-3 * b.abs().max()


def test_a_model_trained_on_filled_gaps_reads_them_filled(conditional, monkeypatch):
    """data.observation_fill=lpc: restore hands the model the recording with its gaps
    filled by linear prediction, as in training; the known samples stay as they were."""
    import audiodiff.restore.restorer as restorer
    from audiodiff.pipeline import load
    from audiodiff.restore.restorer import RestoreOptions, restore

    pipe = load(conditional, "cpu")
    wav = torch.from_numpy(tone(1.0, 16000))[None]
    wav[:, 4000:4800] = 0
    opts = RestoreOptions(task="inpaint", gaps=[[0.25, 0.3]])
    seen = []
    real = restorer.prefill
    monkeypatch.setattr(restorer, "prefill", lambda *a: seen.append(a) or real(*a))
    plain = restore(pipe, wav, opts)
    assert not seen  # a model trained on zero-filled gaps reads them zero-filled
    pipe.config["data"]["observation_fill"] = "lpc"
    filled = restore(pipe, wav, opts)
    assert len(seen) == 1 and seen[0][0] == "lpc" and not seen[0][3][..., 4000:4800].any()
    assert not torch.allclose(filled, plain)
    for out in (plain, filled):
        assert torch.equal(out[:, :3900], wav[:, :3900]) and torch.equal(
            out[:, 4900:], wav[:, 4900:]
        )


def test_pipe_restore_takes_any_rate_and_returns_the_input_shape(conditional):
    from audiodiff.errors import ConfigError
    from audiodiff.pipeline import load

    pipe = load(conditional, "cpu")
    mono = torch.from_numpy(tone(0.7, 22050))
    out = pipe.restore(mono, 22050, task="denoise", steps=1)
    assert out.shape == mono.shape and torch.isfinite(out).all() and not torch.equal(out, mono)
    stereo = torch.stack([mono, 0.5 * mono])
    assert pipe.restore(stereo, 22050, steps=1).shape == (2, mono.numel())
    for bad, words in [(torch.full((100,), float("nan")), "NaN"), (torch.zeros(0), "N > 0")]:
        with pytest.raises(ConfigError, match=words):
            pipe.restore(bad, 16000)
    with pytest.raises(ConfigError, match="task must be one of"):
        pipe.restore(mono, 22050, task="shout")


def test_a_prior_fills_gaps_and_keeps_every_other_sample(smoke_run, tmp_path):
    sr = 16000
    clean = tone(2.0, sr)
    gapped = clean.copy()
    gaps = [(4000, 5600), (20000, 21200)]
    for a, b in gaps:
        gapped[a:b] = 0
    src = write(tmp_path / "gaps.wav", gapped, sr)
    out = tmp_path / "out"
    args = [f"ckpt={smoke_run / 'model'}", f"in={src}", f"out={out}", "task=inpaint", "steps=3"]
    assert main(["restore", *args, "chunk_seconds=1.0", "overlap_seconds=0.25"]) == 0
    restored, _ = sf.read(out / "gaps.wav", dtype="float32")
    fade = round(0.005 * sr)
    keep = np.ones(len(clean), dtype=bool)
    for a, b in gaps:
        keep[a - fade : b + fade] = False
    assert np.array_equal(restored[keep], gapped[keep])  # the known samples, bit for bit
    assert all(np.abs(restored[a:b]).max() > 0 for a, b in gaps)  # the gaps are filled


def test_given_gaps_are_filled_and_digital_silence_elsewhere_is_kept(smoke_run, tmp_path):
    """gaps=[[start, end]]: those spans are filled whatever they hold (here a burst of
    noise), and a run of exact zeros outside them is silence, kept, not a gap."""
    sr = 16000
    wav = tone(2.0, sr)
    wav[8000:12000] = 0  # 0.25 s of digital silence
    wav[20000:21600] = np.random.default_rng(0).standard_normal(1600).astype(np.float32)
    src = write(tmp_path / "burst.wav", wav, sr)
    out = tmp_path / "out"
    args = [f"ckpt={smoke_run / 'model'}", f"in={src}", f"out={out}", "task=inpaint", "steps=3"]
    assert main(["restore", *args, "gaps=[[1.25,1.35]]", "chunk_seconds=1.0"]) == 0
    restored, _ = sf.read(out / "burst.wav", dtype="float32")
    fade = round(0.005 * sr)
    keep = np.ones(len(wav), dtype=bool)
    keep[20000 - fade : 21600 + fade] = False
    assert np.array_equal(restored[keep], wav[keep]) and not restored[8000:12000].any()
    assert not np.allclose(restored[20000:21600], wav[20000:21600])
    code = main(["restore", *args, "gaps=[[1.3,1.2]]", f"out={tmp_path / 'bad'}"])
    assert code == 2 and not (tmp_path / "bad").exists()


def test_a_prior_declips_keeping_the_unclipped_samples(smoke_run, tmp_path):
    clean = tone(1.0, 16000)
    clipped = np.clip(clean, -0.2, 0.2)
    src = write(tmp_path / "clip.wav", clipped, 16000)
    out = tmp_path / "out"
    args = [f"ckpt={smoke_run / 'model'}", f"in={src}", f"out={out}", "task=declip", "steps=2"]
    assert main(["restore", *args, "clip_level=0.2"]) == 0
    restored, _ = sf.read(out / "clip.wav", dtype="float32")
    free = np.abs(clipped) < 0.2 - 1e-4
    assert np.allclose(restored[free], clipped[free], atol=1e-6)
    assert (np.abs(restored[~free]) >= 0.2 - 1e-4).all()


def test_bandwidth_keeps_the_observed_band(smoke_run, tmp_path):
    from audiodiff.restore.operators import LowBand

    sr = 16000
    rng = np.random.default_rng(1)
    low = torch.from_numpy(rng.standard_normal(16000).astype(np.float32) * 0.1)[None, None]
    low = LowBand(low, 4000, sr).y_low
    wav = torch.fft.irfft(low, n=16000)[0, 0].numpy()
    src = write(tmp_path / "low.wav", wav, sr)
    out = tmp_path / "out"
    args = [f"ckpt={smoke_run / 'model'}", f"in={src}", f"out={out}", "task=bandwidth"]
    assert main(["restore", *args, "cutoff_hz=4000", "steps=2", "chunk_seconds=2"]) == 0
    restored, _ = sf.read(out / "low.wav", dtype="float32")
    band = np.fft.rfftfreq(16000, 1 / sr) < 4000
    a, b = np.fft.rfft(restored)[band], np.fft.rfft(wav)[band]
    assert np.abs(a - b).max() < 1e-3 * np.abs(b).max()


def test_peaks_above_full_scale_are_written_not_clipped(conditional, tmp_path, monkeypatch, capsys):
    import audiodiff.cli.restore as cli_restore

    monkeypatch.setattr(cli_restore, "restore", lambda pipe, wav, opts, progress: 1.5 * wav)
    src = write(tmp_path / "loud.wav", 2 * tone(0.5, 16000), 16000)  # peak 0.8
    assert main(["restore", f"ckpt={conditional}", f"in={src}", f"out={tmp_path / 'o'}"]) == 0
    restored, _ = sf.read(tmp_path / "o" / "loud.wav", dtype="float32")
    assert np.allclose(restored, 3 * tone(0.5, 16000), atol=1e-6) and restored.max() > 1
    assert "above full scale" in capsys.readouterr().err
