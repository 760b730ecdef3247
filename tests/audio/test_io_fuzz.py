"""Property tests of ``load`` and ``info`` on arbitrary bytes and on lying WAV headers.

Whatever a file holds, ``load`` returns a finite float32 [C, N] tensor with N > 0 or raises
an ``AudioFileError`` naming the file: no other exception, no hang (each call runs under
SIGALRM), and ``info`` agrees with it about whether the header can be used at all.
"""

from __future__ import annotations

import io
import signal
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiodiff.audio.io import AUDIO_EXTENSIONS, MAX_PEAK, info, load
from audiodiff.errors import AudioFileError

FUZZ = settings(
    max_examples=250,
    deadline=None,  # the SIGALRM limit below is the hang check
    database=None,  # no .hypothesis folder in the working tree
    suppress_health_check=[HealthCheck.too_slow],
)
LIMIT_S = 10


class Hang(BaseException):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def outcome(path: Path, call: Callable[[], object]) -> object:
    """The call's value, or the AudioFileError it raised (which must name the file);
    any other exception fails the test."""
    try:
        with time_limit(LIMIT_S):
            return call()
    except AudioFileError as e:
        assert str(path) in str(e) and "\n" not in str(e)
        return e


def check_file(blob: bytes, suffix: str) -> object:
    """Write ``blob`` as x<suffix>; check load and info; returns load's outcome."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x{suffix}"
        path.write_bytes(blob)
        loaded = outcome(path, lambda: load(path, sample_rate=16000, mono=False))
        header = outcome(path, lambda: info(path))
        assert path.read_bytes() == blob  # reading never writes
        assert sorted(p.name for p in Path(tmp).iterdir()) == [path.name]
    if not isinstance(loaded, AudioFileError):
        wav, sr = loaded
        assert sr == 16000 and wav.dtype == torch.float32 and wav.ndim == 2
        assert wav.shape[0] >= 1 and wav.shape[1] >= 1
        assert torch.isfinite(wav).all() and wav.abs().max() <= MAX_PEAK
        # a file that loads has a usable header; its frame count may lie (it is not checked)
        assert not isinstance(header, AudioFileError)
        assert header.channels == wav.shape[0]
    return loaded


def valid_file(data: np.ndarray, sr: int, fmt: str, subtype: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, data, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


TONE = (0.3 * np.sin(np.arange(4000) / 16000 * 2 * np.pi * 440))[:, None]
VALID = {
    ".wav": valid_file(TONE, 16000, "WAV", "PCM_16"),
    ".flac": valid_file(TONE, 16000, "FLAC", "PCM_16"),
    ".ogg": valid_file(TONE, 16000, "OGG", "VORBIS"),
    ".mp3": valid_file(TONE, 16000, "MP3", "MPEG_LAYER_III"),
}


@FUZZ
@given(blob=st.binary(max_size=4096), suffix=st.sampled_from(AUDIO_EXTENSIONS))
def test_random_bytes(blob, suffix):
    check_file(blob, suffix)


@FUZZ
@given(
    magic=st.sampled_from([b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"ID3\x04", b"\xff\xfb"]),
    blob=st.binary(max_size=2048),
    suffix=st.sampled_from(AUDIO_EXTENSIONS),
)
def test_random_bytes_after_a_magic_number(magic, blob, suffix):
    check_file(magic + blob, suffix)


@st.composite
def wav_headers(draw) -> bytes:
    """A RIFF/WAVE file whose every header field may lie about the data that follows."""
    u16, u32 = st.integers(0, 2**16 - 1), st.integers(0, 2**32 - 1)
    tag = draw(st.sampled_from([1, 3, 6, 7, 0x11, 0xFFFE]) | u16)
    channels = draw(st.sampled_from([0, 1, 2, 8, 1024, 65535]) | u16)
    sr = draw(st.sampled_from([0, 1, 999, 1000, 16000, 768000, 768001, 2**32 - 1]) | u32)
    bits = draw(st.sampled_from([0, 1, 8, 12, 16, 24, 32, 64]) | u16)
    align = draw(st.just(max(1, channels * bits // 8) & 0xFFFF) | u16)
    byte_rate = draw(st.just(sr * align & 0xFFFFFFFF) | u32)
    data = draw(st.binary(max_size=2048))
    data_size = draw(st.just(len(data)) | u32)
    fmt_size = draw(st.sampled_from([16, 18, 40]) | u32)
    fmt = struct.pack("<HHIIHH", tag, channels, sr, byte_rate, align, bits)
    fmt += bytes(max(0, min(fmt_size, 40) - 16))
    chunks = [b"fmt " + struct.pack("<I", fmt_size) + fmt]
    chunks.append(b"data" + struct.pack("<I", data_size) + data)
    if draw(st.booleans()):
        chunks.insert(draw(st.integers(0, 2)), b"LIST" + struct.pack("<I", 3) + b"abc")
    if draw(st.booleans()):
        chunks.pop(draw(st.integers(0, len(chunks) - 1)))
    body = b"WAVE" + b"".join(chunks)
    riff_size = draw(st.just(len(body)) | u32)
    return b"RIFF" + struct.pack("<I", riff_size) + body


@FUZZ
@given(blob=wav_headers())
def test_lying_wav_headers(blob):
    check_file(blob, ".wav")


@FUZZ
@given(
    suffix=st.sampled_from(sorted(VALID)),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=8),
)
def test_truncated_or_bit_flipped_valid_files(suffix, cut, flips):
    blob = bytearray(VALID[suffix][: int(len(VALID[suffix]) * cut)])
    for where, value in flips:
        if blob:
            blob[min(int(where * len(blob)), len(blob) - 1)] = value
    check_file(bytes(blob), suffix)


@FUZZ
@given(
    channels=st.integers(1, 8),
    sr=st.sampled_from([1000, 8000, 16000, 22050, 44100, 48000, 96000, 384000]),
    frames=st.integers(1, 3000),
    subtype=st.sampled_from(["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"]),
    seed=st.integers(0, 2**16),
)
def test_valid_wavs_load_exactly(channels, sr, frames, subtype, seed):
    """Truth, not just survival: samples, rate and channel count come back as written."""
    data = np.random.default_rng(seed).uniform(-0.99, 0.99, (frames, channels))
    blob = valid_file(data, sr, "WAV", subtype)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.wav"
        path.write_bytes(blob)
        wav, got_sr = load(path, mono=False)
        header = info(path)
    tol = {"PCM_U8": 1 / 2**7, "PCM_16": 1 / 2**15}.get(subtype, 1e-6)
    assert got_sr == sr and header.samplerate == sr and header.frames == frames
    assert wav.shape == (channels, frames)
    assert np.abs(wav.numpy() - data.T).max() <= tol
