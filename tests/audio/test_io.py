import math

import numpy as np
import pytest
import soundfile as sf
import torch

from audiodiff.audio.io import find_audio, info, load, resample, save
from audiodiff.errors import (
    AudioDiffError,
    CorruptAudioError,
    EmptyAudioError,
    MissingAudioError,
    NonFiniteAudioError,
    OutputExistsError,
    UnsupportedFormatError,
)

SR = 16000


def tone(freq: float = 440.0, seconds: float = 0.5, sr: int = SR) -> torch.Tensor:
    t = torch.arange(int(seconds * sr)) / sr
    return (0.5 * torch.sin(2 * math.pi * freq * t))[None]  # [1, N]


@pytest.mark.parametrize(
    "ext, tol",
    [(".wav", 1 / 2**15), (".flac", 1 / 2**15), (".ogg", None), (".mp3", None)],
)
def test_save_load_round_trip(tmp_path, ext, tol):
    wav = tone()
    path = save(tmp_path / f"a{ext}", wav, SR)
    back, sr = load(path)
    assert sr == SR and back.dtype == torch.float32 and back.shape[0] == 1
    if tol is not None:  # lossless: within 16-bit quantisation
        assert back.shape == wav.shape
        assert (back - wav).abs().max() <= tol
    else:  # lossy codecs: same length within the codec's padding, same content
        n = min(back.shape[-1], wav.shape[-1])
        assert abs(back.shape[-1] - wav.shape[-1]) < 0.1 * SR
        corr = torch.nn.functional.cosine_similarity(
            back[0, 1000 : n - 1000], wav[0, 1000 : n - 1000], dim=0
        )
        assert corr > 0.9


def test_stereo_and_mono(tmp_path):
    stereo = torch.cat([tone(440), tone(660)])  # [2, N]
    path = save(tmp_path / "s.wav", stereo, SR)
    both, _ = load(path, mono=False)
    mono, _ = load(path)
    assert both.shape[0] == 2 and mono.shape[0] == 1
    assert torch.allclose(mono, both.mean(0, keepdim=True), atol=1e-6)


def dominant_frequency(wav: torch.Tensor, sr: int) -> float:
    spec = np.abs(np.fft.rfft(wav[0].numpy() * np.hanning(wav.shape[-1])))
    return float(np.argmax(spec) * sr / wav.shape[-1])


@pytest.mark.parametrize("orig, target", [(44100, 16000), (16000, 22050), (48000, 8000)])
def test_resampling_preserves_frequency(tmp_path, orig, target):
    wav = tone(1000.0, seconds=1.0, sr=orig)
    path = save(tmp_path / "r.wav", wav, orig)
    out, sr = load(path, sample_rate=target)
    assert sr == target
    assert abs(out.shape[-1] - target) <= 1
    assert abs(dominant_frequency(out, target) - 1000.0) < 2.0


def test_resample_identity():
    wav = tone()
    assert resample(wav, SR, SR) is wav


def test_missing_file(tmp_path):
    with pytest.raises(MissingAudioError, match="nope.wav"):
        load(tmp_path / "nope.wav")


def test_unsupported_format(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello")
    with pytest.raises(UnsupportedFormatError, match="notes.txt"):
        load(p)
    with pytest.raises(UnsupportedFormatError):
        save(tmp_path / "out.aiff2", tone(), SR)


def test_corrupt_file(tmp_path):
    p = tmp_path / "broken.wav"
    p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(CorruptAudioError, match="broken.wav"):
        load(p)
    with pytest.raises(CorruptAudioError):
        info(p)


def test_zero_length(tmp_path):
    p = tmp_path / "empty.wav"
    sf.write(p, np.zeros((0, 1), dtype=np.float32), SR)
    with pytest.raises(EmptyAudioError, match="empty.wav"):
        load(p)


def test_non_finite(tmp_path):
    p = tmp_path / "nan.wav"
    data = np.zeros(1000, dtype=np.float32)
    data[10] = np.nan
    sf.write(p, data, SR, subtype="FLOAT")
    with pytest.raises(NonFiniteAudioError, match="nan.wav"):
        load(p)
    with pytest.raises(NonFiniteAudioError):
        save(tmp_path / "x.wav", torch.tensor([[0.0, float("inf")]]), SR)


def test_errors_are_one_line_and_ours(tmp_path):
    with pytest.raises(AudioDiffError) as e:
        load(tmp_path / "missing.flac")
    assert "\n" not in str(e.value) and str(tmp_path / "missing.flac") in str(e.value)


def test_save_refuses_overwrite_and_is_atomic(tmp_path):
    p = save(tmp_path / "a.wav", tone(), SR)
    before = p.read_bytes()
    with pytest.raises(OutputExistsError, match="a.wav"):
        save(p, tone(880), SR)
    assert p.read_bytes() == before
    save(p, tone(880), SR, overwrite=True)
    assert p.read_bytes() != before
    assert [q.name for q in tmp_path.iterdir()] == ["a.wav"]  # no temporary files left


def test_failed_save_leaves_nothing(tmp_path):
    with pytest.raises(EmptyAudioError):
        save(tmp_path / "empty.wav", torch.zeros(1, 0), SR)
    assert list(tmp_path.iterdir()) == []


def test_find_audio_recursive(tmp_path):
    save(tmp_path / "a" / "x.wav", tone(), SR)
    save(tmp_path / "b" / "c" / "y.flac", tone(), SR)
    (tmp_path / "notes.txt").write_text("-")
    (tmp_path / ".hidden.wav").write_bytes(b"")
    assert [p.name for p in find_audio(tmp_path)] == ["x.wav", "y.flac"]
