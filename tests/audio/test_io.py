import math
import os

import numpy as np
import pytest
import soundfile as sf
import torch

from audiodiff.audio.io import find_audio, info, load, resample, save
from audiodiff.errors import (
    AudioDiffError,
    AudioFileError,
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


@pytest.fixture
def time_limit():
    """Fail instead of hanging: a FIFO opened for reading would wait for a writer forever."""
    import signal

    def expire(signum, frame):
        raise TimeoutError("hung")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _loop(p):
    os.symlink(p.name, p)


@pytest.mark.parametrize(
    "make, detail",
    [
        (lambda p: p.mkdir(), "a folder"),
        (lambda p: os.mkfifo(p), "a FIFO"),
        (_loop, "symbolic link loop"),
        (lambda p: os.symlink("/dev/zero", p), "a character device"),
        (lambda p: os.symlink("gone.wav", p), "broken symbolic link"),
    ],
)
def test_what_is_not_a_regular_file_is_never_read(tmp_path, time_limit, make, detail):
    p = tmp_path / "x.wav"
    make(p)
    for call in (load, info):
        with pytest.raises(AudioFileError, match=detail) as e:
            call(p)
        assert str(p) in str(e.value) and "\n" not in str(e.value)
    assert [q.name for q in find_audio(tmp_path)] == ["x.wav"]  # listed, so readers count it


@pytest.mark.parametrize("sr, ok", [(999, False), (1000, True), (768000, True), (768001, False)])
def test_sample_rates_outside_the_accepted_range_are_refused(tmp_path, sr, ok):
    p = tmp_path / "r.wav"
    sf.write(p, np.zeros(2000, np.float32) + 0.1, sr)
    if ok:
        assert load(p)[1] == sr and info(p).samplerate == sr
    else:
        with pytest.raises(UnsupportedFormatError, match=f"sample rate {sr} Hz"):
            load(p)
        with pytest.raises(UnsupportedFormatError):
            info(p)


def test_float_samples_far_beyond_full_scale_are_refused(tmp_path):
    loud, garbage = tmp_path / "loud.wav", tmp_path / "garbage.wav"
    sf.write(loud, np.full(100, 2.0, np.float32), SR, subtype="FLOAT")  # headroom: kept
    sf.write(garbage, np.full(100, 1e6, np.float32), SR, subtype="FLOAT")
    assert load(loud)[0].max() == 2.0
    with pytest.raises(CorruptAudioError, match="samples reach 1e"):
        load(garbage)


def test_a_header_claiming_hours_reads_only_what_is_there(tmp_path):
    p = save(tmp_path / "a.wav", tone(seconds=0.1), SR)
    blob = bytearray(p.read_bytes())
    blob[4:8] = blob[40:44] = (0x7FFFFFF0).to_bytes(4, "little")  # RIFF and data sizes
    p.write_bytes(bytes(blob))
    wav, _ = load(p)
    assert wav.shape == (1, 1600)


def test_resampling_to_less_than_one_sample_is_empty(tmp_path):
    p = tmp_path / "one.wav"
    sf.write(p, np.array([0.5], np.float32), 48000)
    with pytest.raises(EmptyAudioError, match="shorter than one sample at 8000 Hz"):
        load(p, sample_rate=8000)


def test_file_names_that_are_not_utf8(tmp_path):
    p = tmp_path / os.fsdecode(b"caf\xe9 \xff.wav")
    save(p, tone(), SR)
    assert load(p)[0].shape == tone().shape and info(p).frames == tone().shape[-1]


def test_mp3_decoder_notes_do_not_reach_stderr(tmp_path, capfd):
    p = tmp_path / "noise.mp3"
    p.write_bytes(b"\xff\xfb\x90\x64" + np.random.default_rng(0).bytes(4000))
    with pytest.raises(CorruptAudioError):
        load(p)
    assert capfd.readouterr().err == ""


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def half_then_fail(file, *args, **kwargs):
        with open(file, "wb") as f:
            f.write(b"RIFF\x00\x00")
        raise RuntimeError("disk full")

    monkeypatch.setattr(sf, "write", half_then_fail)
    with pytest.raises(AudioFileError, match="cannot write: disk full"):
        save(tmp_path / "a.wav", tone(), SR)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_a_folder_and_a_bad_rate(tmp_path):
    (tmp_path / "d.wav").mkdir()
    with pytest.raises(AudioFileError, match="folder"):
        save(tmp_path / "d.wav", tone(), SR, overwrite=True)
    with pytest.raises(AudioFileError, match="sample rate"):
        save(tmp_path / "a.wav", tone(), 0)
    assert [p.name for p in tmp_path.iterdir()] == ["d.wav"]
