"""Tests of the procedural dataset (audiodiff.data.instruments / audiodiff.data.synth)."""

from __future__ import annotations

import csv
import json
from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from audiodiff.audio.io import load
from audiodiff.data.instruments import INSTRUMENTS
from audiodiff.data.synth import (
    SynthSpec,
    build_synth,
    caption,
    ensure_synth,
    make_clip,
    midi_to_hz,
    note_name,
)
from audiodiff.errors import ConfigError

SR = 16000
PITCHED = [name for name, inst in INSTRUMENTS.items() if inst.pitched]
PERCUSSION = [name for name, inst in INSTRUMENTS.items() if not inst.pitched]


@pytest.fixture(scope="module")
def clips() -> list[tuple[np.ndarray, dict]]:
    """The first 200 clips of the default spec (25 per instrument)."""
    spec = SynthSpec()
    return [make_clip(spec, i) for i in range(200)]


def test_registry_has_enough_instruments() -> None:
    assert len(PITCHED) >= 5 and len(PERCUSSION) >= 3
    assert {"pluck", "bell", "organ", "saw_lead", "pad", "kick", "snare", "hihat"} <= set(
        INSTRUMENTS
    )
    assert len({inst.description for inst in INSTRUMENTS.values()}) == len(INSTRUMENTS)


def test_determinism() -> None:
    spec = SynthSpec(n=10)
    for i in (0, 3, 9):
        a, meta_a = make_clip(spec, i)
        b, meta_b = make_clip(SynthSpec(n=5000), i)  # n does not matter
        np.testing.assert_array_equal(a, b)
        assert meta_a == meta_b
        c, _ = make_clip(SynthSpec(n=10, seed=1), i)
        assert len(a) != len(c) or not np.array_equal(a, c)
    # neighbouring indices of the same instrument differ too
    assert not np.array_equal(make_clip(spec, 0)[0][:1000], make_clip(spec, 8)[0][:1000])


def test_clip_format_and_labels(clips: list) -> None:
    spec = SynthSpec()
    for wav, meta in clips:
        assert wav.dtype == np.float32 and wav.ndim == 1 and np.isfinite(wav).all()
        assert 0.1 < np.abs(wav).max() <= 0.9 + 1e-6
        seconds = len(wav) / SR
        assert spec.min_seconds - 1e-9 <= seconds <= spec.max_seconds + 1e-9
        assert abs(seconds * 10 - round(seconds * 10)) < 1e-6  # rounded to 0.1 s
        assert isinstance(meta["velocity"], int) and 1 <= meta["velocity"] <= 127
        if INSTRUMENTS[meta["instrument"]].pitched:
            assert isinstance(meta["pitch"], int)
            assert spec.pitch_low <= meta["pitch"] <= spec.pitch_high
        else:
            assert meta["pitch"] is None
    counts = Counter(meta["instrument"] for _, meta in clips)
    assert counts == {name: 25 for name in INSTRUMENTS}
    pitches = [meta["pitch"] for _, meta in clips if meta["pitch"] is not None]
    assert min(pitches) == spec.pitch_low and max(pitches) == spec.pitch_high
    assert len({meta["velocity"] for _, meta in clips}) > 40


def test_captions(clips: list) -> None:
    assert note_name(60) == "C4" and note_name(69) == "A4" and note_name(21) == "A0"
    assert note_name(61) == "C#4" and note_name(48) == "C3" and note_name(71) == "B4"
    assert caption("pluck", 60, 110) == "A loud plucked string playing C4 (MIDI 60)."
    assert caption("kick", None, 45) == "A soft kick drum hit."
    for _, meta in clips:
        text = meta["caption"]
        assert INSTRUMENTS[meta["instrument"]].description in text
        word = "soft" if meta["velocity"] < 70 else "medium" if meta["velocity"] < 100 else "loud"
        assert text.startswith(f"A {word} ")
        if meta["pitch"] is not None:
            assert f"{note_name(meta['pitch'])} (MIDI {meta['pitch']})" in text


def test_spec_validation() -> None:
    with pytest.raises(ConfigError):
        SynthSpec(instruments=("pluck", "theremin"))
    with pytest.raises(ConfigError):
        SynthSpec(min_seconds=2.0, max_seconds=1.0)
    with pytest.raises(ConfigError, match="too high"):
        SynthSpec(pitch_high=110, sample_rate=16000)
    spec = SynthSpec(n=6, instruments=["kick", "bell"])
    assert [make_clip(spec, i)[1]["instrument"] for i in range(4)] == ["kick", "bell"] * 2


def _pyin_median_cents(wavs: list[np.ndarray], pitches: list[int]) -> np.ndarray:
    """pyin median f0 over voiced frames of the first 0.6 s, as cents off the label. [B]"""
    import librosa

    y = np.stack([w[: int(0.6 * SR)] for w in wavs])  # [B, 9600]
    f0, voiced, _ = librosa.pyin(y, fmin=60, fmax=1100, sr=SR, frame_length=1024)  # [B, T]
    medians = np.array(
        [np.median(f[v]) if v.any() else np.inf for f, v in zip(f0, voiced, strict=True)]
    )
    return 1200 * np.log2(medians / midi_to_hz(np.array(pitches)))


def test_pitch_labels_match_audio(clips: list) -> None:
    # per pitched instrument: its lowest and highest labelled note plus 3 more -> 25 clips
    chosen = []
    for name in PITCHED:
        own = sorted((c for c in clips if c[1]["instrument"] == name), key=lambda c: c[1]["pitch"])
        chosen += [own[0], own[-1], *own[1:-1:6][:3]]
    pitches = [meta["pitch"] for _, meta in chosen]
    assert len(chosen) >= 20 and {meta["instrument"] for _, meta in chosen} == set(PITCHED)
    assert min(pitches) <= 50 and max(pitches) >= 70
    cents = _pyin_median_cents([w for w, _ in chosen], pitches)
    hits = np.abs(cents) <= 50
    print(f"pyin hit-rate {hits.mean():.3f} on {len(hits)} pitched clips")
    assert hits.mean() >= 0.95, {
        m["caption"]: round(c) for (_, m), c in zip(chosen, cents, strict=True)
    }


def _peak_hz(wav: np.ndarray, near: float) -> float:
    """Frequency of the strongest spectral peak within +-10% of ``near`` (zero-padded FFT)."""
    n = 1 << 20
    spec = np.abs(np.fft.rfft(wav * np.hanning(len(wav)), n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    band = np.flatnonzero(np.abs(freqs - near) < 0.1 * near)
    i = band[np.argmax(spec[band])]
    a, b, c = np.log(spec[i - 1 : i + 2])
    return (i + 0.5 * (a - c) / (a - 2 * b + c)) * SR / n  # parabolic interpolation


@pytest.mark.parametrize("midi", [48.0, 55.3, 60.5, 66.71, 72.0, 79.9])
def test_pluck_is_in_tune(midi: float) -> None:
    """The fractional-delay allpass keeps the string within 2 cents for any pitch."""
    hz = midi_to_hz(midi)
    wav = INSTRUMENTS["pluck"].fn(hz, 1.5, 100, SR, np.random.default_rng(0))
    assert abs(1200 * np.log2(_peak_hz(wav, hz) / hz)) < 2.0


def _timbre_features(wav: np.ndarray, pitch: int | None) -> np.ndarray:
    """[log centroid, log flatness, attack s, log decay, log even/odd harmonic energy]."""
    x = wav[:SR].astype(np.float64)  # first second
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    centroid = (freqs * power).sum() / power.sum()
    flatness = np.exp(np.mean(np.log(power + 1e-12))) / power.mean()
    rms = np.sqrt((x[: len(x) // 256 * 256].reshape(-1, 256) ** 2).mean(1)) + 1e-9  # [T]
    attack = np.argmax(rms > 0.5 * rms.max()) * 256 / SR
    decay = np.log(rms[-8:].mean() / rms.max())
    even_odd = 0.0
    if pitch is not None:
        f0 = midi_to_hz(pitch)
        energy = {h: power[np.abs(freqs - h * f0) < f0 / 4].sum() for h in range(2, 8)}
        even_odd = np.log(
            (energy[2] + energy[4] + energy[6] + 1e-12)
            / (energy[3] + energy[5] + energy[7] + 1e-12)
        )
    return np.array([np.log(centroid), np.log(flatness), attack, decay, even_odd])


def test_timbres_differ(clips: list) -> None:
    """A nearest-centroid classifier on 5 simple features tells the instruments apart."""
    feats: dict[str, list[np.ndarray]] = {}
    for wav, meta in clips[:128]:  # 16 per instrument
        feats.setdefault(meta["instrument"], []).append(_timbre_features(wav, meta["pitch"]))
    train = np.concatenate([np.array(v[:8]) for v in feats.values()])
    mu, sd = train.mean(0), train.std(0) + 1e-9
    centroids = {k: ((np.array(v[:8]) - mu) / sd).mean(0) for k, v in feats.items()}
    correct = total = 0
    for name, vectors in feats.items():
        for f in (np.array(vectors[8:]) - mu) / sd:
            guess = min(centroids, key=lambda k: np.sum((f - centroids[k]) ** 2))
            correct, total = correct + (guess == name), total + 1
    print(f"nearest-centroid accuracy {correct / total:.3f} on {total} held-out clips")
    assert correct / total >= 0.9


def test_build_synth(tmp_path) -> None:
    spec = SynthSpec(n=12, min_seconds=0.5, max_seconds=1.0)
    out = build_synth(tmp_path / "ds", spec, progress=False)
    wavs = sorted(out.rglob("*.wav"))
    assert len(wavs) == 12 and not list(out.rglob(".*"))
    with open(out / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and list(rows[0]) == [
        "path", "instrument", "pitch", "velocity", "caption", "duration"
    ]  # fmt: skip
    for i, row in enumerate(rows):
        assert row["path"] == f"{row['instrument']}/{i:05d}.wav"
        wav, sr = load(out / row["path"])
        assert sr == spec.sample_rate and wav.shape[0] == 1
        assert abs(wav.shape[1] / sr - float(row["duration"])) < 1e-3
        ref, meta = make_clip(spec, i)
        np.testing.assert_allclose(wav[0].numpy(), ref, atol=1.0 / 2**15)  # 16-bit PCM
        assert sf.info(str(out / row["path"])).subtype == "PCM_16"
        assert row["pitch"] == ("" if meta["pitch"] is None else str(meta["pitch"]))
        assert row["caption"] == meta["caption"] and int(row["velocity"]) == meta["velocity"]
    assert json.loads((out / "synth.json").read_text())["n"] == 12

    # same spec: nothing is rewritten
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert ensure_synth(out, SynthSpec(n=12, min_seconds=0.5, max_seconds=1.0)) == out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps

    # another spec: refused, then replaced with overwrite (old clips removed)
    with pytest.raises(ConfigError, match=r"n=12 \(requested 5\)"):
        build_synth(out, SynthSpec(n=5, min_seconds=0.5, max_seconds=1.0), progress=False)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps
    build_synth(out, SynthSpec(n=5, seed=3), overwrite=True, progress=False)
    assert len(list(out.rglob("*.wav"))) == 5
    assert json.loads((out / "synth.json").read_text())["seed"] == 3


def test_incomplete_folder_is_rebuilt(tmp_path) -> None:
    spec = SynthSpec(n=4, min_seconds=0.5, max_seconds=0.5)
    out = build_synth(tmp_path, spec, progress=False)
    (out / "metadata.csv").unlink()  # as if interrupted before the csv was written
    (out / "pluck" / "00000.wav").unlink()
    build_synth(out, spec, progress=False)
    assert (out / "pluck" / "00000.wav").is_file() and (out / "metadata.csv").is_file()


def test_foreign_folder_is_refused(tmp_path) -> None:
    (tmp_path / "keep.wav").write_bytes(b"")
    (tmp_path / "metadata.csv").write_text("path,caption\nkeep.wav,x\n")
    with pytest.raises(ConfigError, match="not a synth folder"):
        build_synth(tmp_path, SynthSpec(n=2), overwrite=True, progress=False)
    assert (tmp_path / "keep.wav").exists()
