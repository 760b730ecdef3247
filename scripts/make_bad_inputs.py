"""Build a corpus of bad (and unusual but valid) inputs for every audiodiff command.

    python scripts/make_bad_inputs.py OUT_DIR

writes OUT_DIR (which must be empty or new) and OUT_DIR/cases.json, one entry per case:
its name, kind (audio / manifest / config / checkpoint), family, paths, the commands it
applies to with their extra arguments, and what each command may do with it. Importable:
``build(out_dir) -> list[Case]``. ``scripts/bad_input_report.py`` runs the cases through the
commands and prints how each command handled them; ``tests/test_bad_inputs.py`` asserts it.

Layout::

    good/            4 short valid clips: the reference set, and the data of config cases
    model/           a tiny untrained model: export (model.safetensors + config.yaml), .ckpt
    audio/<case>/    a dataset folder: two valid clips and the case's bad (or odd) entry
    manifest/<case>/ a manifest and the clips it lists (or a generated folder + metadata.csv)
    checkpoint/<case>/, config/  what the checkpoint and config cases point at

Expectations: "bad" (a one-line error naming the input, or a counted skip), "refused" (a
one-line error: a config value, checkpoint or prompt file has nothing to skip), "valid" (the
command succeeds), "either" (a damaged file that a decoder may still read, e.g. cut in its
data: any of the three, as long as nothing crashes or hangs).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import pickle
import shutil
import socket
import struct
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
# what a command may do with an input
EXPECT = {
    "bad": ("error", "skip"),  # a bad clip or manifest row: refused, or skipped and counted
    "refused": ("error",),  # a bad config value, checkpoint, prompt file: nothing to skip
    "valid": ("ok",),
    "either": ("ok", "error", "skip"),
}
AUDIO_COMMANDS = ("load", "encode", "train", "evaluate", "evaluate_paired", "roundtrip")
DATA_COMMANDS = ("encode", "train", "roundtrip")
MODEL_COMMANDS = ("generate", "model_load")
COMMANDS = (*AUDIO_COMMANDS, *MODEL_COMMANDS)
# cases the default test run always sends through the expensive commands too: each found a
# bug there once (a short clip in roundtrip, a NaN clip alone in the validation split, ...)
CORE = frozenset(
    {
        "nan_held_out",
        "clip_10ms",
        "clip_1_sample",
        "name_not_utf8",
        "name_long",
        "symlink_loop",
        "fifo_named_wav",
        "directory_named_wav",
        "wav_claims_hours",
        "mp3_garbage_frame",
        "csv_duplicate_paths",
        "csv_unclosed_quote",
    }
)
VOCAB = {"instrument": ["<null>", "bell", "organ"], "pitch": ["<null>", "60", "64"]}


@dataclass(frozen=True)
class Case:
    """One input and the commands it goes through.

    ``paths[0]`` is the input the case is about (the error must name it, unless ``mention``
    says what it must name instead); ``root`` is the dataset or generated folder it sits in.
    ``args`` maps each command to its extra ``key=value`` arguments; ``expect`` is a key of
    ``EXPECT`` or a mapping from command to one.
    """

    name: str
    kind: str
    family: str
    paths: tuple[Path, ...]
    args: Mapping[str, tuple[str, ...]]
    expect: str | Mapping[str, str] = "bad"
    root: Path | None = None
    mention: str | None = None
    marker: Path | None = None  # a file the input tries to create (it must never appear)
    core: bool = False  # always in the default test run, also through the expensive commands

    @property
    def commands(self) -> tuple[str, ...]:
        return tuple(self.args)

    def allowed(self, command: str) -> tuple[str, ...]:
        expect = self.expect if isinstance(self.expect, str) else self.expect[command]
        return EXPECT[expect]

    def named(self) -> str:
        """What the one-line error (or the skip report) must name."""
        return self.mention if self.mention is not None else self.paths[0].name

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "family": self.family,
            "paths": [os.fsdecode(p) for p in self.paths],
            "root": None if self.root is None else str(self.root),
            "commands": {
                c: {"args": list(a), "allowed": list(self.allowed(c))} for c, a in self.args.items()
            },
            "mention": self.named(),
        }


def _on(commands: Iterable[str], *args: str) -> dict[str, tuple[str, ...]]:
    return {c: tuple(args) for c in commands}


# ---------------------------------------------------------------------------- audio bytes


def tone(seconds: float = 0.25, sr: int = SR, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    """A sine at -10 dBFS, [N, C] float32 (each channel a little higher)."""
    t = np.arange(max(1, round(seconds * sr))) / sr
    cols = [0.3 * np.sin(2 * np.pi * freq * (1 + 0.1 * c) * t) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


def encode(data: np.ndarray, sr: int = SR, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, data, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def wav_bytes(
    data: bytes,
    *,
    sr: int = SR,
    channels: int = 1,
    bits: int = 16,
    tag: int = 1,
    block_align: int | None = None,
    byte_rate: int | None = None,
    riff_size: int | None = None,
    data_size: int | None = None,
    fmt_size: int = 16,
    before_data: bytes = b"",
    riff: bytes = b"RIFF",
    wave: bytes = b"WAVE",
    with_fmt: bool = True,
    with_data: bool = True,
) -> bytes:
    """A RIFF/WAVE file from raw sample bytes, every header field settable (to lie)."""
    align = channels * bits // 8 if block_align is None else block_align
    rate = sr * align if byte_rate is None else byte_rate
    fmt = struct.pack("<HHIIHH", tag, channels, sr, rate & 0xFFFFFFFF, align & 0xFFFF, bits)
    body = b""
    if with_fmt:
        pad = fmt_size - 16 if 16 <= fmt_size <= 64 else 0  # a lying size is not padded
        body += b"fmt " + struct.pack("<I", fmt_size) + fmt + b"\0" * pad
    body += before_data
    if with_data:
        body += b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    size = 4 + len(body) if riff_size is None else riff_size
    return riff + struct.pack("<I", size & 0xFFFFFFFF) + wave + body


def pcm16(seconds: float = 0.25, channels: int = 1) -> bytes:
    return (tone(seconds, channels=channels) * 32767).astype("<i2").tobytes()


def float_wav(values: np.ndarray, sr: int = SR, subtype: str = "FLOAT") -> bytes:
    """values: [N, C]"""
    return encode(
        values.astype(np.float64 if subtype == "DOUBLE" else np.float32), sr, "WAV", subtype
    )


def flip(blob: bytes, start: float, n: int, seed: int = 0) -> bytes:
    """``n`` random bytes written over ``blob`` from the fraction ``start`` of its length."""
    b = bytearray(blob)
    i = int(len(b) * start)
    b[i : i + n] = np.random.default_rng(seed).bytes(min(n, len(b) - i))
    return bytes(b)


def random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).bytes(n)


# ---------------------------------------------------------------------------- corpus


@dataclass
class Corpus:
    root: Path
    cases: list[Case] = field(default_factory=list)

    @property
    def good(self) -> Path:
        return self.root / "good"

    @property
    def model(self) -> Path:
        return self.root / "model"

    def folder(self, kind: str, name: str, good: int = 2) -> Path:
        """A new case folder holding ``good`` valid clips (copies of good/)."""
        folder = self.root / kind / name
        folder.mkdir(parents=True)
        for i in range(good):
            shutil.copyfile(self.good / f"good_{i}.wav", folder / f"good_{i}.wav")
        return folder

    def add(self, case: Case) -> None:
        self.cases.append(case)

    def audio(
        self,
        name: str,
        family: str,
        blob: bytes | None = None,
        filename: str | bytes | None = None,
        expect: str | Mapping[str, str] = "bad",
        make: Callable[[Path], None] | None = None,
        commands: Iterable[str] = AUDIO_COMMANDS,
    ) -> None:
        """An audio case: ``blob`` written as ``filename`` (or made by ``make(path)``) next to
        two valid clips."""
        folder = self.folder("audio", name)
        filename = filename or f"{name}.wav"
        path = Path(os.fsdecode(filename)) if isinstance(filename, bytes) else Path(filename)
        path = folder / path
        if make is not None:
            make(path)
        else:
            path.write_bytes(blob if blob is not None else b"")
        self.add(Case(name, "audio", family, (path,), _on(commands), expect, root=folder))


def write_good(out: Path) -> None:
    out.mkdir(parents=True)
    for i in range(4):
        sf.write(out / f"good_{i}.wav", tone(0.25, freq=220.0 * (i + 2)), SR, subtype="PCM_16")


def write_model(out: Path) -> None:
    """A tiny untrained model of the smoke experiment's shape, as an export and a .ckpt."""
    import torch
    from omegaconf import OmegaConf

    from audiodiff.build import build_denoiser, build_representation
    from audiodiff.cli.config import compose
    from audiodiff.data.vocab import LabelVocab
    from audiodiff.training.export import export

    cfg = compose("train", ["experiment=smoke", f"paths.output_dir={out}", f"run_dir={out}"])
    config = OmegaConf.to_container(cfg, resolve=True)
    config["vocab"] = VOCAB
    representation = build_representation(config)
    torch.manual_seed(0)
    denoiser = build_denoiser(config, representation, LabelVocab(VOCAB))
    export(denoiser, config, out)
    state = {f"ema.module.{k}": v for k, v in denoiser.state_dict().items()}
    torch.save(
        {"audiodiff": {"config": config}, "state_dict": state, "global_step": 0}, out / "model.ckpt"
    )


# ---------------------------------------------------------------------------- audio cases


def truncated_cases(c: Corpus) -> None:
    """Each format cut inside its header (bad) and inside its data (either)."""
    sig = tone(0.5)
    bases = {
        "pcm16_wav": (encode(sig, subtype="PCM_16"), ".wav", 44),
        "pcm24_wav": (encode(sig, subtype="PCM_24"), ".wav", 44),
        "float_wav": (encode(sig, subtype="FLOAT"), ".wav", 44),
        "flac": (encode(sig, fmt="FLAC"), ".flac", 42),
        "ogg": (encode(sig, fmt="OGG", subtype="VORBIS"), ".ogg", 58),
        "mp3": (encode(sig, fmt="MP3", subtype="MPEG_LAYER_III"), ".mp3", 4),
    }
    for base, (blob, ext, header) in bases.items():
        c.audio(f"{base}_zero_length", "truncated", b"", f"zero{ext}")
        for cut in sorted({4, 12, 28, header - 1} - {0}):
            if cut < header or base != "mp3":
                c.audio(f"{base}_cut_{cut}", "truncated", blob[:cut], f"cut{ext}")
        if ext == ".wav":
            c.audio(f"{base}_header_only", "truncated", blob[:header], f"header{ext}")
        expect = "either"
        for frac in (0.5, 0.9):
            c.audio(
                f"{base}_cut_{int(frac * 100)}pct",
                "truncated",
                blob[: int(len(blob) * frac)],
                f"cut{ext}",
                expect,
            )
        c.audio(f"{base}_minus_1", "truncated", blob[:-1], f"cut{ext}", expect)


def header_cases(c: Corpus) -> None:
    """WAV headers that lie about the data, and damaged compressed streams."""
    data = pcm16()
    bad = {
        "wav_channels_0": wav_bytes(data, channels=0, block_align=2),
        "wav_channels_65535": wav_bytes(data, channels=65535),
        "wav_rate_0": wav_bytes(data, sr=0),
        "wav_rate_huge": wav_bytes(data, sr=0xFFFFFFFF),
        "wav_bits_0": wav_bytes(data, bits=0, block_align=2),
        "wav_format_tag_unknown": wav_bytes(data, tag=0x1234),
        "wav_no_data_chunk": wav_bytes(data, with_data=False),
        "wav_no_fmt_chunk": wav_bytes(data, with_fmt=False),
        "wav_fmt_size_huge": wav_bytes(data, fmt_size=0x7FFFFFF0),
        "wav_not_wave": wav_bytes(data, wave=b"AVI "),
        "wav_random_float_data": wav_bytes(random_bytes(16000, 3), bits=32, tag=3),
        "wav_header_rate_1hz": wav_bytes(data, sr=1),
        "wav_header_rate_999hz": wav_bytes(data, sr=999),
    }
    for name, blob in bad.items():
        c.audio(name, "header", blob)
    either = {
        "wav_claims_hours": wav_bytes(data, data_size=0x7FFFFFF0, riff_size=0x7FFFFFF8),
        "wav_claims_4gib": wav_bytes(data, data_size=0xFFFFFFFF, riff_size=0xFFFFFFFF),
        "wav_riff_size_0": wav_bytes(data, riff_size=0),
        "wav_data_size_0": wav_bytes(data, data_size=0),
        "wav_bits_13": wav_bytes(data, bits=13, block_align=2),
        "wav_block_align_0": wav_bytes(data, block_align=0),
        "wav_byte_rate_0": wav_bytes(data, byte_rate=0),
        "wav_odd_chunk_before_data": wav_bytes(data, before_data=b"LIST\x03\x00\x00\x00abc"),
        "wav_two_data_chunks": wav_bytes(data) + b"data" + struct.pack("<I", 8) + bytes(8),
        "wav_random_pcm_data": wav_bytes(random_bytes(16000, 4)),
        "wav_trailing_garbage": wav_bytes(data) + random_bytes(999, 5),
    }
    for name, blob in either.items():
        c.audio(name, "header", blob, expect="either")
    flac = encode(tone(0.5), fmt="FLAC")
    total = bytearray(flac)  # STREAMINFO total samples (36 bits) -> all ones
    total[21] |= 0x0F
    total[22:26] = b"\xff\xff\xff\xff"
    mp3 = encode(tone(0.5), fmt="MP3", subtype="MPEG_LAYER_III")
    ogg = encode(tone(0.5), fmt="OGG", subtype="VORBIS")
    damaged = {
        "flac_claims_2pow36_samples": (bytes(total), ".flac"),
        "flac_corrupt_frame": (flip(flac, 0.5, 64), ".flac"),
        "ogg_corrupt_page": (flip(ogg, 0.6, 64), ".ogg"),
        "mp3_garbage_frame": (flip(mp3, 0.5, 400), ".mp3"),
        "mp3_garbage_start": (random_bytes(400, 6) + mp3, ".mp3"),
    }
    for name, (blob, ext) in damaged.items():
        c.audio(name, "header", blob, f"{name}{ext}", "either")


def random_cases(c: Corpus) -> None:
    """Bytes that are not audio, under audio names."""
    seed = 10
    for ext in (".wav", ".flac", ".ogg", ".mp3"):
        for n in (1, 100, 10_000):
            seed += 1
            c.audio(
                f"random_{n}b{ext.replace('.', '_')}",
                "random",
                random_bytes(n, seed),
                f"random{ext}",
            )
    prefixed = {
        "riff_wave_then_random": (b"RIFF\x00\x10\x00\x00WAVE" + random_bytes(4000, 20), ".wav"),
        "flac_magic_then_random": (b"fLaC" + random_bytes(4000, 21), ".flac"),
        "oggs_then_random": (b"OggS" + random_bytes(4000, 22), ".ogg"),
        "id3_then_random": (b"ID3\x04\x00\x00\x00\x00\x00\x10" + random_bytes(4000, 23), ".mp3"),
        "zeros_named_wav": (bytes(10_000), ".wav"),
        "text_named_wav": (b"hello, this is not audio\n" * 20, ".wav"),
        "json_named_flac": (json.dumps({"path": "a.wav"}).encode(), ".flac"),
        "png_named_ogg": (b"\x89PNG\r\n\x1a\n" + random_bytes(500, 24), ".ogg"),
        "zip_named_mp3": (b"PK\x03\x04" + random_bytes(500, 25), ".mp3"),
        "pickle_named_wav": (pickle.dumps({"not": "audio"}), ".wav"),
    }
    for name, (blob, ext) in prefixed.items():
        c.audio(name, "random", blob, f"{name}{ext}")
    sync = b"\xff\xfb\x90\x64" + random_bytes(4000, 26)  # an MPEG sync word, then noise
    c.audio("mp3_sync_then_random", "random", sync, "sync.mp3", "either")
    c.audio("ff_bytes_named_mp3", "random", b"\xff" * 5000, "ff.mp3", "either")


def nonfinite_cases(c: Corpus) -> None:
    """NaN and inf samples (bad), and finite floats far outside [-1, 1] (bad)."""

    def with_value(value: float, at: slice, channels: int = 1, channel: int = 0) -> np.ndarray:
        x = tone(0.25, channels=channels).astype(np.float64)
        x[at, channel] = value
        return x

    bad = {
        "nan_first_sample": float_wav(with_value(np.nan, slice(0, 1))),
        "nan_middle": float_wav(with_value(np.nan, slice(2000, 2001))),
        "all_nan": float_wav(with_value(np.nan, slice(None))),
        "pos_inf": float_wav(with_value(np.inf, slice(100, 101))),
        "neg_inf": float_wav(with_value(-np.inf, slice(100, 101))),
        "nan_double": float_wav(with_value(np.nan, slice(5, 6)), subtype="DOUBLE"),
        "nan_right_channel": float_wav(with_value(np.nan, slice(7, 8), channels=2, channel=1)),
        "nan_channel_7_of_8": float_wav(with_value(np.nan, slice(9, 10), channels=8, channel=7)),
        "huge_1e30": float_wav(with_value(1e30, slice(50, 51))),
        "huge_1e6": float_wav(with_value(1e6, slice(50, 60))),
        "nan_in_w64": encode(
            with_value(np.nan, slice(3, 4)).astype(np.float32), fmt="W64", subtype="FLOAT"
        ),
        "nan_in_rf64": encode(
            with_value(np.nan, slice(3, 4)).astype(np.float32), fmt="RF64", subtype="FLOAT"
        ),
    }
    for name, blob in bad.items():
        c.audio(name, "nonfinite", blob)
    held_out = _held_out_name(c.root / "audio" / "nan_held_out", ["good_0.wav", "good_1.wav"])
    nan = float_wav(with_value(np.nan, slice(10, 11)))
    c.audio("nan_held_out", "nonfinite", nan, held_out)  # the validation split's only clip
    c.audio("peak_2", "nonfinite", float_wav(tone(0.25) * 6.0), expect="valid")
    c.audio("denormals", "nonfinite", float_wav(np.full((4000, 1), 1e-40)), expect="valid")


def _held_out_name(folder: Path, others: list[str]) -> str:
    """A file name that the train/validation split of ``folder`` puts in validation, alone
    (with the folder config's val_fraction and split_seed)."""
    from audiodiff.data.records import split_key

    def key(name: str) -> float:
        return split_key({"path": str(folder / name)}, folder, 0)

    low = min(key(n) for n in others)
    return next(f"held_out_{i}.wav" for i in range(10_000) if key(f"held_out_{i}.wav") < low)


def format_cases(c: Corpus) -> None:
    """Unusual but valid encodings, rates, lengths and channel counts: they must work."""
    sig = tone(0.25)
    valid = {
        "wav_u8": (encode(sig, subtype="PCM_U8"), ".wav"),
        "wav_pcm24": (encode(sig, subtype="PCM_24"), ".wav"),
        "wav_pcm32": (encode(sig, subtype="PCM_32"), ".wav"),
        "wav_float64": (encode(sig, subtype="DOUBLE"), ".wav"),
        "wav_ulaw": (encode(sig, subtype="ULAW"), ".wav"),
        "wav_alaw": (encode(sig, subtype="ALAW"), ".wav"),
        "wav_ima_adpcm": (encode(sig, subtype="IMA_ADPCM"), ".wav"),
        "wav_ms_adpcm": (encode(sig, subtype="MS_ADPCM"), ".wav"),
        "wav_gsm610_8k": (encode(tone(0.25, 8000), 8000, subtype="GSM610"), ".wav"),
        "wavex": (encode(sig, fmt="WAVEX", subtype="PCM_16"), ".wav"),
        "rf64_named_wav": (encode(sig, fmt="RF64", subtype="PCM_16"), ".wav"),
        "w64_named_wav": (encode(sig, fmt="W64", subtype="PCM_16"), ".wav"),
        "aiff_named_wav": (encode(sig, fmt="AIFF", subtype="PCM_16"), ".wav"),
        "flac_named_wav": (encode(sig, fmt="FLAC"), ".wav"),
        "wav_named_mp3": (encode(sig, subtype="PCM_16"), ".mp3"),
        "ogg_named_flac": (encode(sig, fmt="OGG", subtype="VORBIS"), ".flac"),
        "mp3_named_wav": (encode(sig, fmt="MP3", subtype="MPEG_LAYER_III"), ".wav"),
        "flac_24bit": (encode(sig, fmt="FLAC", subtype="PCM_24"), ".flac"),
        "flac_8bit": (encode(sig, fmt="FLAC", subtype="PCM_S8"), ".flac"),
        "flac_8_channels": (encode(tone(0.25, channels=8), fmt="FLAC"), ".flac"),
        "ogg_stereo": (encode(tone(0.25, channels=2), fmt="OGG", subtype="VORBIS"), ".ogg"),
        "ogg_opus_48k": (encode(tone(0.25, 48000), 48000, "OGG", "OPUS"), ".ogg"),
        "mp3_stereo_44k": (
            encode(tone(0.25, 44100, channels=2), 44100, "MP3", "MPEG_LAYER_III"),
            ".mp3",
        ),
        "mp3_8k": (encode(tone(0.25, 8000), 8000, "MP3", "MPEG_LAYER_III"), ".mp3"),
        "wav_2_channels": (encode(tone(0.25, channels=2)), ".wav"),
        "wav_3_channels": (encode(tone(0.25, channels=3)), ".wav"),
        "wav_8_channels": (encode(tone(0.25, channels=8)), ".wav"),
        "wav_64_channels": (encode(tone(0.05, channels=64)), ".wav"),
        "clip_10ms": (encode(tone(0.01)), ".wav"),
        "clip_1_sample": (encode(tone(1 / SR)), ".wav"),
        "silence": (encode(np.zeros((4000, 1))), ".wav"),
        "dc_offset": (encode(np.full((4000, 1), 0.5)), ".wav"),
        "full_scale_square": (encode(np.sign(tone(0.25)) * 1.0, subtype="FLOAT"), ".wav"),
        "white_noise": (encode(np.random.default_rng(1).uniform(-1, 1, (4000, 1))), ".wav"),
        "uppercase_extension": (encode(sig), ".WAV"),
        "mixed_case_extension": (encode(sig, fmt="FLAC"), ".Flac"),
    }
    for sr in (1000, 8000, 11025, 22050, 44100, 48000, 96000, 192000, 384000, 768000):
        valid[f"rate_{sr}"] = (encode(tone(0.25, sr), sr), ".wav")
    for name, (blob, ext) in valid.items():
        c.audio(name, "format", blob, f"{name}{ext}", "valid")
    for sr in (1, 100, 999, 768001):  # a valid file, but no audio rate: refused by name
        c.audio(f"rate_{sr}", "format", encode(tone(0.25, sr) if sr > 100 else tone(10, sr), sr))
    long_clip = (tone(600.0, 8000) * 32767).astype("<i2").tobytes()  # 10 minutes at 8 kHz
    c.audio("ten_minutes_8k", "long", wav_bytes(long_clip, sr=8000), expect="valid")


def name_cases(c: Corpus) -> None:
    """File names that are awkward to print, quote or encode; valid content unless noted."""
    sig = encode(tone(0.25))
    names: dict[str, str | bytes] = {
        "name_spaces": "a b  c.wav",
        "name_leading_space": " lead.wav",
        "name_trailing_space": "trail .wav",
        "name_not_utf8": b"\xff\xfe\xfd.wav",
        "name_latin1": b"caf\xe9.wav",
        "name_unicode": "日本語のファイル.wav",
        "name_emoji": "🎵 note.wav",
        "name_long": "x" * 240 + ".wav",
        "name_dash": "-n.wav",
        "name_equals": "a=b.wav",
        "name_comma": "a,b.wav",
        "name_brackets": "[bold]x[i].wav",
        "name_interpolation": "${oc.env:HOME}.wav",
        "name_quotes": 'it\'s "q".wav',
        "name_newline": "new\nline.wav",
        "name_tab": "tab\t.wav",
        "name_percent": "%s%n%d.wav",
        "name_backslash": "back\\slash.wav",
    }
    for name, filename in names.items():
        c.audio(name, "names", sig, filename, "valid")
    c.audio(
        "hidden_file",
        "names",
        random_bytes(100, 30),
        ".hidden.wav",
        "valid",
        commands=AUDIO_COMMANDS[1:],
    )
    c.audio(
        "no_extension",
        "names",
        random_bytes(100, 31),
        "noext",
        {c: "valid" for c in AUDIO_COMMANDS[1:]} | {"load": "bad"},
    )
    c.audio(
        "text_extension",
        "names",
        sig,
        "clip.txt",
        {c: "valid" for c in AUDIO_COMMANDS[1:]} | {"load": "bad"},
    )
    bad_named = {
        "bad_not_utf8_name": (random_bytes(300, 32), b"bad\xff.wav"),
        "nan_spaced_name": (float_wav(np.full((100, 1), np.nan)), "nan  clip .wav"),
        "truncated_newline_name": (sig[:20], "cut\nhere.wav"),
        "random_bracket_name": (random_bytes(300, 33), "[red]x.wav"),
    }
    for name, (blob, filename) in bad_named.items():
        c.audio(name, "names", blob, filename)


def special_cases(c: Corpus) -> None:
    """Entries that are not regular files: never opened for reading, never a hang."""
    good = c.good / "good_3.wav"

    def mkdir(path: Path) -> None:
        path.mkdir()

    def dir_with_clip(path: Path) -> None:
        path.mkdir()
        shutil.copyfile(good, path / "inside.wav")

    def loop(path: Path) -> None:
        other = path.with_name(f"{path.stem}_b.wav")  # sorts after path: named first
        os.symlink(other.name, path)
        os.symlink(path.name, other)

    def self_loop(path: Path) -> None:
        os.symlink(path.name, path)

    def link(target: str | Path) -> Callable[[Path], None]:
        return lambda path: os.symlink(target, path)

    def hardlink(path: Path) -> None:
        os.link(good, path)

    def fifo(path: Path) -> None:
        os.mkfifo(path)

    def unix_socket(path: Path) -> None:
        cwd = os.getcwd()
        os.chdir(path.parent)  # AF_UNIX names are limited to ~100 bytes: bind a short one
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.bind(path.name)
        finally:
            os.chdir(cwd)

    def folder_cycle(path: Path) -> None:
        path.parent.joinpath("sub").mkdir()
        os.symlink("..", path.parent / "sub" / "up")
        shutil.copyfile(good, path)

    bad = {
        "directory_named_wav": mkdir,
        "directory_named_wav_holding_a_clip": dir_with_clip,
        "fifo_named_wav": fifo,
        "symlink_loop": loop,
        "symlink_to_itself": self_loop,
        "broken_symlink": link("does_not_exist.wav"),
        "symlink_to_dev_zero": link("/dev/zero"),
        "symlink_to_dev_null": link("/dev/null"),
        "symlink_to_folder": link(".."),
        "socket_named_wav": unix_socket,
    }
    for name, make in bad.items():
        c.audio(name, "special", make=make, filename=f"{name}.wav")
    valid = {
        "symlink_to_clip": link(good),
        "hardlink_to_clip": hardlink,
        "folder_symlink_cycle": folder_cycle,
    }
    for name, make in valid.items():
        c.audio(name, "special", make=make, filename=f"{name}.wav", expect="valid")


# ---------------------------------------------------------------------------- manifests


def manifest_cases(c: Corpus) -> None:
    """CSV / JSONL manifests, passed as data.manifest= (or found as metadata.csv)."""
    csv_cases: dict[str, tuple[bytes, str]] = {
        "csv_valid": (b"path,speaker\ngood_0.wav,a\ngood_1.wav,b\ngood_2.wav,a\n", "valid"),
        "csv_crlf": (b"path,speaker\r\ngood_0.wav,a\r\ngood_1.wav,b\r\n", "valid"),
        "csv_bom": ("\ufeffpath,speaker\ngood_0.wav,a\ngood_1.wav,b\n".encode(), "valid"),
        "csv_extra_columns": (b"path,speaker,x,y\ngood_0.wav,a,1,2\ngood_1.wav,b,3,4\n", "valid"),
        "csv_fewer_cells": (b"path,speaker\ngood_0.wav\ngood_1.wav,b\n", "valid"),
        "csv_blank_lines": (b"path\n\ngood_0.wav\n\n\ngood_1.wav\n\n", "valid"),
        "csv_quoted_paths": (b'path\n"good_0.wav"\n"good_1.wav"\n', "valid"),
        "csv_missing_path_column": (b"file,speaker\ngood_0.wav,a\n", "bad"),
        "csv_uppercase_path_header": (b"PATH\ngood_0.wav\n", "bad"),
        "csv_semicolons": (b"path;speaker\ngood_0.wav;a\n", "bad"),
        "csv_empty_path_cell": (b"path,speaker\ngood_0.wav,a\n,b\n", "bad"),
        "csv_only_commas_row": (b"path,speaker\ngood_0.wav,a\n,\n", "bad"),
        "csv_extra_cells": (b"path,speaker\ngood_0.wav,a,oops,more\n", "bad"),
        "csv_empty_file": (b"", "bad"),
        "csv_header_only": (b"path,speaker\n", "bad"),
        "csv_latin1": ("path,speaker\ngood_0.wav,Zoë\n".encode("latin-1"), "bad"),
        "csv_utf16": ("path\ngood_0.wav\n".encode("utf-16"), "bad"),
        "csv_nul_byte": (b"path\ngood_0.wav\ngood\x001.wav\n", "bad"),
        "csv_huge_field": (b"path,x\ngood_0.wav," + b"y" * 200_000 + b"\n", "bad"),
        "csv_unclosed_quote": (b'path\n"good_0.wav\ngood_1.wav\n', "bad"),
        "csv_random_bytes": (random_bytes(3000, 40), "bad"),
        "csv_missing_file": (b"path\ngood_0.wav\nnope.wav\n", "bad"),
        "csv_dotdot_missing": (b"path\ngood_0.wav\n../../../nope.wav\n", "bad"),
        "csv_duplicate_paths": (b"path\ngood_0.wav\ngood_1.wav\ngood_0.wav\n", "bad"),
        "csv_duplicate_after_normalising": (b"path\ngood_0.wav\ngood_1.wav\n./good_0.wav\n", "bad"),
        "csv_path_is_folder": (b"path\ngood_0.wav\ngood_1.wav\nsub\n", "bad"),
        "csv_path_with_spaces_around": (b"path\ngood_0.wav\ngood_1.wav\n good_2.wav \n", "bad"),
        "csv_lists_bad_audio": (b"path\ngood_0.wav\ngood_1.wav\nbroken.wav\n", "bad"),
        "csv_lists_only_missing": (b"path\nnope_1.wav\nnope_2.wav\n", "bad"),
    }
    mentions = {
        "csv_missing_file": "nope.wav",
        "csv_dotdot_missing": "nope.wav",
        "csv_duplicate_paths": "good_0.wav",
        "csv_duplicate_after_normalising": "good_0.wav",
        "csv_path_is_folder": "sub",
        "csv_path_with_spaces_around": " good_2.wav ",
        "csv_lists_bad_audio": "broken.wav",
        "csv_lists_only_missing": "nope_1.wav",
        "csv_nul_byte": "good",
    }
    for name, (blob, expect) in csv_cases.items():
        _manifest(c, name, "csv", blob, ".csv", expect, mentions.get(name))
    _manifest(
        c,
        "csv_autodetected_metadata",
        "csv",
        b"path\ngood_0.wav\nnope.wav\n",
        ".csv",
        "bad",
        "nope.wav",
        auto=True,
    )
    _manifest(
        c,
        "csv_autodetected_latin1",
        "csv",
        "path\ncafé.wav\n".encode("latin-1"),
        ".csv",
        "bad",
        auto=True,
    )
    absolute = f"path\n{c.good / 'good_0.wav'}\n{c.good / 'good_1.wav'}\n".encode()
    _manifest(c, "csv_absolute_paths", "csv", absolute, ".csv", "valid")
    _manifest(
        c,
        "csv_dotdot_paths",
        "csv",
        b"path\n../../good/good_0.wav\n../../good/good_1.wav\n",
        ".csv",
        "valid",
    )
    labels = b"path,speaker\ngood_0.wav,a\ngood_1.wav,\ngood_2.wav,b\n"
    _manifest(
        c,
        "csv_label_with_empty_values",
        "labels",
        labels,
        ".csv",
        "valid",
        extra=("data.labels=[speaker]",),
    )
    _manifest(
        c,
        "csv_label_not_a_column",
        "labels",
        labels,
        ".csv",
        "bad",
        "nope",
        extra=("data.labels=[nope]",),
    )
    jsonl: dict[str, tuple[bytes, str]] = {
        "jsonl_valid": (
            b'{"path": "good_0.wav"}\n{"path": "good_1.wav", "speaker": "a"}\n',
            "valid",
        ),
        "jsonl_bom": ('\ufeff{"path": "good_0.wav"}\n{"path": "good_1.wav"}\n'.encode(), "valid"),
        "jsonl_blank_lines": (
            b'\n{"path": "good_0.wav"}\n\n   \n{"path": "good_1.wav"}\n',
            "valid",
        ),
        "jsonl_nested_values": (
            b'{"path": "good_0.wav", "meta": {"a": [1, 2]}}\n{"path": "good_1.wav"}\n',
            "valid",
        ),
        "jsonl_duplicate_keys": (
            b'{"path": "nope.wav", "path": "good_0.wav"}\n{"path": "good_1.wav"}\n',
            "valid",
        ),
        "jsonl_invalid_json": (b'{"path": "good_0.wav"}\n{"path": good_1.wav}\n', "bad"),
        "jsonl_array_line": (b'{"path": "good_0.wav"}\n["good_1.wav"]\n', "bad"),
        "jsonl_string_line": (b'{"path": "good_0.wav"}\n"good_1.wav"\n', "bad"),
        "jsonl_number_line": (b'{"path": "good_0.wav"}\n42\n', "bad"),
        "jsonl_null_line": (b'{"path": "good_0.wav"}\nnull\n', "bad"),
        "jsonl_no_path": (b'{"path": "good_0.wav"}\n{"file": "good_1.wav"}\n', "bad"),
        "jsonl_path_null": (b'{"path": "good_0.wav"}\n{"path": null}\n', "bad"),
        "jsonl_path_list": (b'{"path": "good_0.wav"}\n{"path": ["good_1.wav"]}\n', "bad"),
        "jsonl_path_number": (b'{"path": "good_0.wav"}\n{"path": 5}\n', "bad"),
        "jsonl_path_with_nul": (b'{"path": "good_0.wav"}\n{"path": "good\\u0000_1.wav"}\n', "bad"),
        "jsonl_latin1": ('{"path": "good_0.wav", "s": "Zoë"}\n'.encode("latin-1"), "bad"),
        "jsonl_empty_file": (b"", "bad"),
        "jsonl_only_blank_lines": (b"\n\n  \n", "bad"),
        "jsonl_deep_nesting": (
            b'{"path": "good_0.wav"}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n",
            "bad",
        ),
        "jsonl_truncated_line": (b'{"path": "good_0.wav"}\n{"path": "goo', "bad"),
    }
    jsonl_mentions = {"jsonl_path_number": "5", "jsonl_path_with_nul": "good"}
    for name, (blob, expect) in jsonl.items():
        _manifest(c, name, "jsonl", blob, ".jsonl", expect, jsonl_mentions.get(name))
    _manifest(
        c,
        "json_extension_read_as_jsonl",
        "jsonl",
        b'{"path": "good_0.wav"}\n{"path": "good_1.wav"}\n',
        ".json",
        "valid",
    )
    _manifest(c, "manifest_wrong_extension", "manifest", b"path\ngood_0.wav\n", ".txt", "bad")
    for name, make in _odd_manifest_files().items():
        folder = c.folder("manifest", name, good=3)
        path = folder / "list.csv"
        make(path)
        c.add(
            Case(
                name,
                "manifest",
                "manifest",
                (path,),
                _on(DATA_COMMANDS, f"data.manifest={path}"),
                "refused",
                root=folder,
            )
        )


def _odd_manifest_files() -> dict[str, Callable[[Path], None]]:
    return {
        "manifest_missing": lambda p: None,
        "manifest_is_folder": lambda p: p.mkdir(),
        "manifest_fifo": lambda p: os.mkfifo(p),
        "manifest_symlink_loop": lambda p: os.symlink(p.name, p),
        "manifest_dev_zero": lambda p: os.symlink("/dev/zero", p),
    }


def _manifest(
    c: Corpus,
    name: str,
    family: str,
    blob: bytes,
    ext: str,
    expect: str,
    mention: str | None = None,
    extra: tuple[str, ...] = (),
    auto: bool = False,
) -> None:
    """A folder with 3 valid clips, a sub/ folder, broken.wav (not audio) and the manifest,
    passed as data.manifest=, or (``auto``) found as the folder's metadata.csv."""
    folder = c.folder("manifest", name, good=3)
    (folder / "sub").mkdir()
    (folder / "broken.wav").write_bytes(random_bytes(500, 41))
    path = folder / ("metadata.csv" if auto else f"list{ext}")
    path.write_bytes(blob)
    args = extra if auto else (f"data.manifest={path}", *extra)
    c.add(
        Case(name, "manifest", family, (path,), _on(DATA_COMMANDS, *args), expect, folder, mention)
    )


def metadata_cases(c: Corpus) -> None:
    """A generated folder's metadata.csv (pitch targets of ``audiodiff evaluate``)."""
    cases: dict[str, tuple[bytes | None, str]] = {
        "meta_valid": (b"path,pitch\ngood_0.wav,60\ngood_1.wav,\n", "valid"),
        "meta_bom": ("\ufeffpath,pitch\ngood_0.wav,60\n".encode(), "valid"),
        "meta_missing_columns": (b"file,note\ngood_0.wav,60\n", "valid"),
        "meta_rows_name_missing_files": (b"path,pitch\nnope.wav,60\n", "valid"),
        "meta_pitch_not_a_number": (b"path,pitch\ngood_0.wav,sixty\n", "refused"),
        "meta_pitch_inf": (b"path,pitch\ngood_0.wav,inf\n", "refused"),
        "meta_latin1": ("path,pitch,note\ngood_0.wav,60,é\n".encode("latin-1"), "refused"),
        "meta_random_bytes": (random_bytes(2000, 42), "refused"),
        "meta_is_folder": (None, "valid"),
        "meta_fifo": (None, "valid"),
    }
    for name, (blob, expect) in cases.items():
        folder = c.folder("manifest", name, good=2)
        path = folder / "metadata.csv"
        if name == "meta_is_folder":
            path.mkdir()
        elif name == "meta_fifo":
            os.mkfifo(path)
        else:
            path.write_bytes(blob or b"")
        args = {"evaluate": ("pitch=true",)}
        c.add(Case(name, "manifest", "metadata", (path,), args, expect, folder))


def prompt_cases(c: Corpus) -> None:
    """Prompt files of ``audiodiff generate prompts=FILE``."""
    cases: dict[str, tuple[bytes | None, str, str | None]] = {
        "prompts_valid": (b"instrument,pitch,n\nbell,60,1\norgan,,1\n", "valid", None),
        "prompts_bom": ("\ufeffinstrument,pitch,n\nbell,60,1\n".encode(), "valid", None),
        "prompts_n_not_a_number": (b"instrument,n\nbell,two\n", "refused", None),
        "prompts_n_negative": (b"instrument,n\nbell,-1\n", "refused", None),
        "prompts_n_zero": (b"instrument,n\nbell,0\n", "refused", None),
        "prompts_unknown_label": (b"colour,n\nred,1\n", "refused", "colour"),
        "prompts_unknown_value": (b"instrument,n\ntuba,1\n", "refused", "tuba"),
        "prompts_empty_file": (b"", "refused", None),
        "prompts_header_only": (b"instrument,pitch,n\n", "refused", None),
        "prompts_latin1": ("instrument,n\nbellé,1\n".encode("latin-1"), "refused", None),
        "prompts_extra_cells": (b"instrument,n\nbell,1,surplus\n", "refused", None),
        "prompts_nul_byte": (b"instrument,n\nbe\x00ll,1\n", "refused", None),
        "prompts_is_folder": (None, "refused", None),
        "prompts_fifo": (None, "refused", None),
    }
    folder = c.root / "config" / "prompts"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (blob, expect, mention) in cases.items():
        path = folder / f"{name}.csv"
        if name == "prompts_is_folder":
            path.mkdir()
        elif name == "prompts_fifo":
            os.mkfifo(path)
        else:
            path.write_bytes(blob or b"")
        args = {"generate": (f"prompts={path}",)}
        c.add(Case(name, "manifest", "prompts", (path,), args, expect, None, mention))


# ---------------------------------------------------------------------------- configs


def config_cases(c: Corpus) -> None:
    """Wrong values, types and keys for each command (on valid data and a valid model)."""
    a_file = c.root / "config" / "a_file"
    a_file.parent.mkdir(parents=True, exist_ok=True)
    a_file.write_text("not a folder\n")
    empty = c.root / "config" / "empty_folder"
    empty.mkdir()
    full = c.root / "config" / "full_folder"
    full.mkdir()
    (full / "keep.txt").write_text("an earlier run\n")
    per_command: dict[str, list[tuple[str, str] | tuple[str, str, str]]] = {
        "encode": [
            ("data.segment_seconds=0", "segment_seconds"),
            ("data.segment_seconds=-1", "segment_seconds"),
            ("data.batch_size=-1", "batch_size"),
            ("data.val_fraction=1.5", "val_fraction"),
            ("data.root=/nonexistent/data", "/nonexistent/data"),
            ("data.loudness_db=loud", "loudness_db"),
            ("data.labels=[nope]", "nope"),
            ("representation.n_mels=0", "n_mels"),
            ("representation.n_mels=-80", "n_mels"),
            ("representation.hop_length=0", "hop_length"),
            ("representation.n_fft=-1", "n_fft"),
            ("representation.sample_rate=0", "sample_rate"),
            (f"paths.cache_dir={a_file}", "a_file"),
            ("foo=1", "foo"),
            ("data.foo=1", "foo"),
            ("representation=nope", "nope"),
            ("data=nope", "nope"),
        ],
        "train": [
            ("data.segment_seconds=0", "segment_seconds"),
            ("data.batch_size=0", "batch_size"),
            ("model.channels=0", "channels"),
            ("model.channels=-16", "channels"),
            ("model.channel_mults=[]", "channel_mults"),
            ("optim.lr=fast", "lr"),
            ("optim.lr=-1", "lr"),
            ("seed=abc", "seed"),
            ("trainer.max_steps=abc", "max_steps"),
            ("threads=-1", "threads"),
            ("threads=many", "threads"),
            ("ema_decay=2", "ema_decay"),
            (f"run_dir={a_file}", "a_file"),
            ("model=nope", "nope"),
            ("sampler=nope", "nope"),
            ("trainer.precision=8", "precision"),
            ("callbacks.preview.n=-1", "n"),
            ("foo=1", "foo"),
        ],
        "evaluate": [
            ("sample_rate=0", "sample_rate"),
            ("sample_rate=-16000", "sample_rate"),
            ("sample_rate=abc", "sample_rate"),
            ("paired=maybe", "paired"),
            ("pitch=abc", "pitch"),
            (f"generated={a_file}", "a_file"),
            ("generated=/nonexistent/gen", "/nonexistent/gen"),
            (f"reference={empty}", "empty_folder"),
            (f"out={full}", "full_folder"),
            ("foo=1", "foo"),
        ],
        "roundtrip": [
            ("n=0", "n"),
            ("n=-1", "n"),
            ("n=abc", "n"),
            ("n=1.5", "n"),
            (f"out={a_file}", "a_file"),
            (f"out={full}", "full_folder"),
            ("representation.n_mels=0", "n_mels"),
            ("data.segment_seconds=-1", "segment_seconds"),
            ("pitch=abc", "pitch"),
            ("foo=1", "foo"),
        ],
        "generate": [
            ("seconds=0", "seconds"),
            ("seconds=-1", "seconds"),
            ("seconds=abc", "seconds"),
            ("n=0", "n"),
            ("n=-1", "n"),
            ("n=abc", "n"),
            ("steps=0", "steps"),
            ("steps=-1", "steps"),
            ("steps=abc", "steps"),
            ("cfg_scale=abc", "cfg_scale"),
            ("device=tpu", "tpu"),
            ("device=cuda:7", "cuda"),
            ("fast.precision=fp8", "fp8"),
            ("fast.batch_size=0", "batch_size"),
            ("fast.batch_size=-1", "batch_size"),
            ("fast.compile=bogus", "bogus"),
            ("fast.threads=-1", "threads"),
            ("sampler=nope", "nope"),
            ("sampler.name=nope", "nope"),
            ("cond.instrument=tuba", "tuba"),
            ("cond.colour=red", "colour"),
            ("cond.pitch=999", "999"),
            (f"out={a_file}", "a_file"),
            (f"out={full}", "full_folder"),
            ("seed=abc", "seed"),
            ("prompts=nope_prompts", "nope_prompts"),
            ("foo=1", "foo"),
        ],
    }
    for command, entries in per_command.items():
        for arg, mention in entries:
            key = arg.split("=", 1)[0].replace(".", "_")
            value = arg.split("=", 1)[1]
            tag = "".join(ch if ch.isalnum() else "_" for ch in value)[-24:].strip("_")
            name = f"config_{command}_{key}_{tag}"
            args = {command: (arg,)}
            c.add(Case(name, "config", command, (Path(arg),), args, "refused", c.good, mention))


# ---------------------------------------------------------------------------- checkpoints


class _Touch:
    """Unpickling this calls ``os.system('touch PATH')``: a pickle that runs code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch '{self.marker}'",))


class _PathTouch:
    """Unpickling this calls ``pathlib.Path.touch(PATH)``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (Path.touch, (Path(self.marker),))


def checkpoint_cases(c: Corpus) -> None:
    """Damaged, foreign and malicious .ckpt files and exports, for generate and load."""
    import torch
    import yaml
    from safetensors.torch import save_file

    model = c.model
    ckpt = (model / "model.ckpt").read_bytes()
    weights = (model / "model.safetensors").read_bytes()
    config = yaml.safe_load((model / "config.yaml").read_text())
    state = torch.load(model / "model.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    base = c.root / "checkpoint"

    def add(
        name: str,
        path: Path,
        expect: str | Mapping[str, str] = "refused",
        marker: Path | None = None,
        train: bool = False,
    ) -> None:
        args = {cmd: (f"ckpt={path}",) for cmd in MODEL_COMMANDS}
        if train:
            args["train"] = (f"ckpt_path={path}",)
        c.add(
            Case(
                name,
                "checkpoint",
                "ckpt" if path.suffix == ".ckpt" else "export",
                (path,),
                args,
                expect,
                c.good,
                marker=marker,
            )
        )

    def ckpt_file(
        name: str, blob: bytes | None = None, make: Callable[[Path], None] | None = None, **kw
    ) -> None:
        folder = base / name
        folder.mkdir(parents=True)
        path = folder / "model.ckpt"
        if make:
            make(path)
        else:
            path.write_bytes(blob or b"")
        add(name, path, **kw)

    def torch_blob(obj: object) -> bytes:
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    ckpt_file("ckpt_zero_length", b"", train=True)
    ckpt_file("ckpt_random_bytes", random_bytes(5000, 50))
    ckpt_file("ckpt_truncated_half", ckpt[: len(ckpt) // 2], train=True)
    ckpt_file("ckpt_truncated_100_bytes", ckpt[:100])
    ckpt_file("ckpt_minus_1_byte", ckpt[:-1])
    ckpt_file("ckpt_pickle_of_a_list", pickle.dumps([1, 2, 3]))
    ckpt_file("ckpt_torch_list", torch_blob([torch.zeros(2)]))
    ckpt_file("ckpt_not_audiodiff", torch_blob({"state_dict": {}, "epoch": 1}))
    ckpt_file("ckpt_no_state_dict", torch_blob({"audiodiff": {"config": config}}))
    ckpt_file(
        "ckpt_config_not_a_dict",
        torch_blob({"audiodiff": {"config": "model"}, "state_dict": state}),
    )
    ckpt_file(
        "ckpt_config_without_model",
        torch_blob({"audiodiff": {"config": {"vocab": VOCAB}}, "state_dict": state}),
    )
    half = dict(list(state.items())[: len(state) // 2])
    ckpt_file(
        "ckpt_missing_weights", torch_blob({"audiodiff": {"config": config}, "state_dict": half})
    )
    wrong = {k: torch.zeros(*(s + 1 for s in v.shape)) if v.ndim else v for k, v in state.items()}
    ckpt_file(
        "ckpt_wrong_shapes", torch_blob({"audiodiff": {"config": config}, "state_dict": wrong})
    )
    bigger = {**config, "model": {**config["model"], "channels": 32}}
    ckpt_file(
        "ckpt_config_of_another_size",
        torch_blob({"audiodiff": {"config": bigger}, "state_dict": state}),
    )
    for name, payload in (
        ("ckpt_pickle_os_system", lambda m: pickle.dumps(_Touch(m))),
        ("ckpt_pickle_path_touch", lambda m: pickle.dumps(_PathTouch(m))),
        (
            "ckpt_torch_zip_os_system",
            lambda m: torch_blob({"audiodiff": _Touch(m), "state_dict": {}}),
        ),
        ("ckpt_torch_zip_path_touch", lambda m: torch_blob({"state_dict": {"x": _PathTouch(m)}})),
    ):
        marker = base / f"{name}_RAN_CODE"
        ckpt_file(name, payload(marker), marker=marker, train=True)
    target_marker = base / "ckpt_config_target_RAN_CODE"
    evil = {
        **config,
        "representation": {"_target_": "os.system", "_args_": [f"touch '{target_marker}'"]},
    }
    ckpt_file(
        "ckpt_config_target_os_system",
        torch_blob({"audiodiff": {"config": evil}, "state_dict": state}),
        marker=target_marker,
    )
    ckpt_file("ckpt_is_a_folder", make=lambda p: p.mkdir())
    ckpt_file("ckpt_fifo", make=lambda p: os.mkfifo(p))
    ckpt_file("ckpt_symlink_loop", make=lambda p: os.symlink(p.name, p))
    ckpt_file("ckpt_dev_zero", make=lambda p: os.symlink("/dev/zero", p))
    ckpt_file("ckpt_missing", make=lambda p: None)

    def export_dir(
        name: str,
        weights_blob: bytes | None,
        config_text: str | None,
        marker: Path | None = None,
        point_at_file: bool = False,
    ) -> None:
        folder = base / name
        folder.mkdir(parents=True)
        if weights_blob is not None:
            (folder / "model.safetensors").write_bytes(weights_blob)
        if config_text is not None:
            (folder / "config.yaml").write_text(config_text)
        add(name, folder / "model.safetensors" if point_at_file else folder, marker=marker)

    config_text = (model / "config.yaml").read_text()
    export_dir("st_zero_length", b"", config_text)
    export_dir("st_truncated_half", weights[: len(weights) // 2], config_text)
    export_dir("st_truncated_8_bytes", weights[:8], config_text)
    export_dir("st_random_bytes", random_bytes(5000, 51), config_text, point_at_file=True)
    export_dir("st_header_length_huge", struct.pack("<Q", 2**62) + b"{}", config_text)
    export_dir("st_header_not_json", struct.pack("<Q", 10) + b"not json!!" + bytes(16), config_text)
    for name, tensors in (
        ("st_wrong_model", {"encoder.weight": torch.zeros(4, 4)}),  # another network's weights
        (
            "st_wrong_shapes",
            {k.removeprefix("ema.module."): v.contiguous() for k, v in wrong.items()},
        ),
    ):
        blob_path = base / f"{name}.tmp"
        save_file(tensors, str(blob_path))
        export_dir(name, blob_path.read_bytes(), config_text)
        blob_path.unlink()
    export_dir("st_missing_config", weights, None)
    export_dir("st_missing_weights", None, config_text)
    export_dir("st_config_invalid_yaml", weights, "model: [unclosed\n  vocab: {")
    export_dir("st_config_a_list", weights, "- 1\n- 2\n")
    export_dir("st_config_empty", weights, "")
    export_dir(
        "st_config_without_vocab",
        weights,
        yaml.safe_dump({k: v for k, v in config.items() if k != "vocab"}),
    )
    export_dir("st_config_python_tag", weights, "!!python/object/apply:os.system ['true']\n")
    export_marker = base / "st_config_target_RAN_CODE"
    evil_export = {
        **config,
        "model": {"_target_": "os.system", "_args_": [f"touch '{export_marker}'"]},
    }
    export_dir(
        "st_config_target_os_system", weights, yaml.safe_dump(evil_export), marker=export_marker
    )
    nan_state = {
        k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
        for k, v in state.items()
    }
    # loads (weights are numbers), but what it generates is NaN: generate must say so
    nan_ckpt = torch_blob({"audiodiff": {"config": config}, "state_dict": nan_state})
    ckpt_file("ckpt_nan_weights", nan_ckpt, expect={"generate": "refused", "model_load": "either"})


def codec_cases(c: Corpus) -> None:
    """Bad codec exports where a latent representation or a vocoder decoder is expected."""
    import torch
    import yaml
    from safetensors.torch import save_file

    base = c.root / "checkpoint"
    marker = base / "codec_config_target_RAN_CODE"
    evil = {"format": "audiodiff-codec-1", "codec": {"_target_": "os.system"}}
    evil["codec"]["_args_"] = [f"touch '{marker}'"]
    weights = {"w": torch.zeros(2)}
    cases: dict[str, tuple[dict | None, bytes | None, str | None]] = {
        "codec_missing": (None, None, None),
        "codec_random_weights": ({}, random_bytes(3000, 60), "format: audiodiff-codec-1\n"),
        "codec_truncated_weights": ({"format": "audiodiff-codec-1"}, None, None),
        "codec_without_config": ({"format": "audiodiff-codec-1"}, b"", None),
        "codec_config_target_os_system": (
            {"format": "audiodiff-codec-1"},
            b"",
            yaml.safe_dump(evil),
        ),
    }
    for name, (metadata, blob, config_text) in cases.items():
        folder = base / name
        if metadata is not None:
            folder.mkdir(parents=True)
            save_file(weights, str(folder / "codec.safetensors"), metadata=metadata)
            if blob:  # random or replaced bytes
                (folder / "codec.safetensors").write_bytes(blob)
            if name == "codec_truncated_weights":
                full = (folder / "codec.safetensors").read_bytes()
                (folder / "codec.safetensors").write_bytes(full[: len(full) // 2])
                config_text = "format: audiodiff-codec-1\ncodec: {}\n"
            if config_text is not None:
                (folder / "config.yaml").write_text(config_text)
        args = {
            cmd: ("representation=latent", f"representation.ckpt={folder}")
            for cmd in ("encode", "roundtrip")
        }
        args["generate"] = ("decoder=vocoder", f"decoder.ckpt={folder}")
        found = marker if name == "codec_config_target_os_system" else None
        c.add(Case(name, "checkpoint", "codec", (folder,), args, "refused", c.good, marker=found))
    # the diffusion model's export is no codec: a folder of the wrong kind
    folder = c.model
    args = {cmd: ("representation=latent", f"representation.ckpt={folder}") for cmd in ("encode",)}
    args["generate"] = ("decoder=vocoder", f"decoder.ckpt={folder}")
    c.add(
        Case(
            "codec_is_a_diffusion_export", "checkpoint", "codec", (folder,), args, "refused", c.good
        )
    )


# ---------------------------------------------------------------------------- entry points


def build(out_dir: str | Path) -> list[Case]:
    """Write the corpus into ``out_dir`` (empty or new) and return its cases."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: not empty; the corpus is built into an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    c = Corpus(out)
    write_good(c.good)
    write_model(c.model)
    for make in (
        truncated_cases,
        header_cases,
        random_cases,
        nonfinite_cases,
        format_cases,
        name_cases,
        special_cases,
        manifest_cases,
        metadata_cases,
        prompt_cases,
        config_cases,
        checkpoint_cases,
        codec_cases,
    ):
        make(c)
    c.cases = [dataclasses.replace(case, core=case.name in CORE) for case in c.cases]
    names = [case.name for case in c.cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RuntimeError(f"duplicate case names: {duplicates}")
    index = json.dumps([case.to_json() for case in c.cases], indent=1)
    (out / "cases.json").write_text(index + "\n")
    return c.cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="an empty or new folder")
    args = parser.parse_args(argv)
    try:
        cases = build(args.out_dir)
    except FileExistsError as e:
        print(f"make_bad_inputs: error: {e}", file=sys.stderr)
        return 2
    kinds = {
        k: sum(c.kind == k for c in cases) for k in ("audio", "manifest", "config", "checkpoint")
    }
    print(
        f"{len(cases)} cases in {args.out_dir}: " + ", ".join(f"{n} {k}" for k, n in kinds.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
