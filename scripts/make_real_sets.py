"""Build labelled sets of real rendered audio: MIDI melodies through a GM soundfont, or speech.

    python scripts/make_real_sets.py music|speech [--out DIR] [--n N] [--seconds S]
        [--seed SEED] [--sample-rate 16000] [--workers 2] [--force]

music: random melodies on 8 General MIDI instruments (``INSTRUMENTS``), written as Standard
MIDI Files by ``write_smf`` and rendered by fluidsynth with FluidR3_GM
(``apt-get install fluidsynth fluid-soundfont-gm``). Label: ``instrument``.
speech: random 5-12 word sentences from ``WORDS`` spoken by espeak-ng
(``apt-get install espeak-ng``) with one of ``VOICES`` at a random speed and pitch.
Labels: ``voice`` and ``text`` (the whole sentence, also when ``--seconds`` cuts it short;
``speech_seconds`` is its uncut length).

Clip i depends only on (seed, i); the instrument / voice cycles with i so classes are
balanced. Layout (16-bit mono WAV, every clip exactly ``--seconds`` long, peak -1 dBFS)::

    out/<label>/<index:05d>.wav
    out/metadata.csv     path (relative to out) + string label columns, read by data=folder

Train and held-out sets are two runs with different seeds and folders:

    python scripts/make_real_sets.py music --seed 0 --out data/music
    python scripts/make_real_sets.py music --seed 1 --n 100 --out data/music_heldout
    python scripts/make_real_sets.py speech --seed 0 --out data/speech
    python scripts/make_real_sets.py speech --seed 1 --n 80 --out data/speech_heldout

then e.g. ``data=folder data.root=data/music data.labels=[instrument]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf
import soxr
from rich.progress import Progress

from audiodiff.fileio import atomic_path, write_text

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MUSIC_PACKAGES = "apt-get install fluidsynth fluid-soundfont-gm"
SPEECH_PACKAGE = "apt-get install espeak-ng"
PEAK = 10 ** (-1 / 20)  # -1 dBFS
SILENT_PEAK = 1e-3  # a render whose peak is below this (-60 dBFS) is skipped
TICKS_PER_QUARTER = 1000
TEMPO_US = 1_000_000  # one quarter per second: 1 tick = 1 ms
# index -> (wav [N] float32 at the set's sample rate, string labels), or None when silent.
Render = Callable[[int], tuple[np.ndarray, dict[str, str]] | None]


# ----------------------------------------------------------------------------- MIDI


class Note(NamedTuple):
    start: int  # ticks
    length: int  # ticks, >= 1
    pitch: int  # MIDI note 0..127
    velocity: int  # 1..127


def vlq(value: int) -> bytes:
    """Variable-length quantity of the SMF spec: 7 bits a byte, high bit set on all but last."""
    if value < 0:
        raise ValueError(f"delta time must be >= 0, got {value}")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def write_smf(
    notes: Sequence[Note],
    *,
    program: int,
    channel: int = 0,
    ticks_per_quarter: int = TICKS_PER_QUARTER,
    tempo_us: int = TEMPO_US,
    end_tick: int = 0,
) -> bytes:
    """A format-0 Standard MIDI File: tempo, program change, the notes, end of track.

    The track ends at the last note-off or ``end_tick``, whichever is later. Note-offs sort
    before note-ons at the same tick, so a repeated pitch is released before it is struck.
    """
    if not (0 <= program < 128 and 0 <= channel < 16):
        raise ValueError(f"program must be 0..127 and channel 0..15, got {program}, {channel}")
    events: list[tuple[int, int, bytes]] = []  # (tick, note-off first, message)
    for n in notes:
        if not (0 <= n.pitch < 128 and 0 < n.velocity < 128 and n.length > 0 and n.start >= 0):
            raise ValueError(f"invalid note {n}")
        events.append((n.start, 1, bytes([0x90 | channel, n.pitch, n.velocity])))
        events.append((n.start + n.length, 0, bytes([0x80 | channel, n.pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    track = bytearray(vlq(0) + b"\xff\x51\x03" + tempo_us.to_bytes(3, "big"))
    track += vlq(0) + bytes([0xC0 | channel, program])
    now = 0
    for tick, _, message in events:
        track += vlq(tick - now) + message
        now = tick
    track += vlq(max(end_tick - now, 0)) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks_per_quarter)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


# ----------------------------------------------------------------------------- music


@dataclass(frozen=True)
class Instrument:
    name: str
    program: int  # General MIDI program, 0-based
    low: int  # melody range, MIDI notes
    high: int
    chords: bool  # may play 2-note chords


INSTRUMENTS = (
    Instrument("piano", 0, 48, 84, True),
    Instrument("vibraphone", 11, 53, 89, True),
    Instrument("church_organ", 19, 41, 77, True),
    Instrument("nylon_guitar", 24, 40, 76, True),
    Instrument("acoustic_bass", 32, 28, 52, False),
    Instrument("violin", 40, 55, 88, False),
    Instrument("trumpet", 56, 55, 82, False),
    Instrument("flute", 73, 60, 93, False),
)
_MAJOR, _MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)


def melody(inst: Instrument, rng: np.random.Generator, *, seconds: float) -> list[Note]:
    """A random walk on a random major/minor scale in the instrument's range, 1.5-6 notes/s.

    Durations are 1/2..2 beats of a random tempo (90-180 bpm); ~8% rests; chord instruments
    add a third or fifth above ~15% of the notes.
    """
    root, scale = int(rng.integers(12)), _MAJOR if rng.random() < 0.5 else _MINOR
    pitches = [p for p in range(inst.low, inst.high + 1) if (p - root) % 12 in scale]
    beat = 60_000 / rng.uniform(90, 180)  # ms
    pos = int(rng.integers(len(pitches) // 4, 3 * len(pitches) // 4))
    t, notes = int(rng.integers(0, 100)), []
    while t < seconds * 1000:
        dur = int(beat * rng.choice([0.5, 1, 1, 1, 1.5, 2]))
        if rng.random() > 0.08:
            pos = int(
                np.clip(pos + rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 3]), 0, len(pitches) - 1)
            )
            length = max(int(dur * rng.uniform(0.6, 1.0)), 30)
            velocity = int(rng.integers(60, 111))
            notes.append(Note(t, length, pitches[pos], velocity))
            up = pos + int(rng.choice([2, 4]))
            if inst.chords and rng.random() < 0.15 and up < len(pitches):
                notes.append(Note(t, length, pitches[up], max(velocity - 10, 1)))
        t += dur
    return notes


def finish(wav: np.ndarray, sr: int, *, sample_rate: int, seconds: float) -> np.ndarray | None:
    """wav [N] or [N, C] at sr -> mono [round(seconds * sample_rate)] float32, peak -1 dBFS.

    Resampled with soxr, cut or zero-padded at the end; None when (nearly) silent.
    """
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim == 2:
        wav = wav.mean(axis=1)
    if sr != sample_rate:
        wav = soxr.resample(wav, sr, sample_rate).astype(np.float32)
    length = round(seconds * sample_rate)
    wav = np.pad(wav[:length], (0, max(length - len(wav), 0)))
    peak = float(np.abs(wav).max(initial=0.0))
    if peak < SILENT_PEAK:
        return None
    return wav * np.float32(PEAK / peak)


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {err[-1] if err else ''}")


def render_music(
    index: int, *, seed: int, seconds: float, sample_rate: int, soundfont: Path
) -> tuple[np.ndarray, dict[str, str]] | None:
    """Clip ``index``: wav [round(seconds * sample_rate)] and {instrument, program, notes}."""
    rng = np.random.default_rng([seed, index])
    inst = INSTRUMENTS[index % len(INSTRUMENTS)]
    notes = melody(inst, rng, seconds=seconds)
    # fluidsynth's sample interpolation aliases at low rates (~10 dB more 6-7 kHz energy at
    # 16k): render at >= 44.1 kHz (fluidsynth's limit is 96k) and let soxr band-limit.
    render_sr = min(max(sample_rate, 44100), 96000)
    with tempfile.TemporaryDirectory(prefix="realset_") as tmp:
        mid, wav_path = Path(tmp) / "clip.mid", Path(tmp) / "clip.wav"
        end = int(seconds * 1000) + 300
        mid.write_bytes(write_smf(notes, program=inst.program, end_tick=end))
        # dynamic-sample-loading reads only the samples the program uses: half the start-up.
        _run(["fluidsynth", "-ni", "-q", "-o", "synth.dynamic-sample-loading=1", "-g", "0.8",
              "-r", str(render_sr), "-F", str(wav_path), str(soundfont), str(mid)])  # fmt: skip
        wav, sr = sf.read(wav_path, dtype="float32")  # [N, 2]
    out = finish(wav, sr, sample_rate=sample_rate, seconds=seconds)
    labels = {"instrument": inst.name, "program": str(inst.program), "notes": str(len(notes))}
    return None if out is None else (out, labels)


# ----------------------------------------------------------------------------- speech

VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us+f3", "en-gb+f4", "en+m3", "en-us+f2")

WORDS = """
the a one two three some many every this that these those my your his her our their
man woman child boy girl friend family teacher doctor farmer driver people king queen
dog cat horse bird fish cow sheep mouse lion bear tree flower grass river lake sea ocean
mountain hill road street city town village house home room door window table chair bed
kitchen garden school office market shop bank church station train bus car boat ship plane
book letter paper pen picture song story game name word number page line water fire air
stone sand snow rain wind sun moon star sky light night morning evening day week month year
time hour minute winter summer spring autumn bread milk tea coffee apple orange egg cheese
rice soup cake sugar salt meat money gold silver box bag hat coat shoe shirt dress clock key
phone radio music voice sound noise color red blue green yellow black white brown small big
little large long short tall high low old new young good bad happy sad hot cold warm cool
dark bright quiet loud fast slow easy hard early late full empty clean dirty rich poor
strong weak soft heavy light sweet kind brave clever quick gentle wild calm green
is was will can could should would must may might see saw look watch hear listen speak say
tell ask answer call come go walk run jump swim fly drive ride sit stand sleep wake eat drink
cook read write draw sing play work help give take bring carry send buy sell pay open close
start stop find lose keep leave meet wait learn teach know think remember forget want like
love hope need try build break cut wash paint plant grow fall climb push pull throw catch
and but or so because when while after before then now today tomorrow yesterday always
never often sometimes again soon here there near far very really almost only also just
in on at under over above below behind between into from with without about around through
""".split()


def sentence(rng: np.random.Generator) -> str:
    """5-12 random words from ``WORDS``, capitalised, with a full stop."""
    words = [str(w) for w in rng.choice(WORDS, size=int(rng.integers(5, 13)))]
    return " ".join(words).capitalize() + "."


def render_speech(
    index: int, *, seed: int, seconds: float, sample_rate: int, voices: Sequence[str] = VOICES
) -> tuple[np.ndarray, dict[str, str]] | None:
    """Clip ``index``: wav [round(seconds * sample_rate)] and {voice, text, speed, pitch, ...}."""
    rng = np.random.default_rng([seed, index])
    voice = voices[index % len(voices)]
    text = sentence(rng)
    speed, pitch = int(rng.integers(140, 191)), int(rng.integers(30, 71))
    with tempfile.TemporaryDirectory(prefix="realset_") as tmp:
        wav_path = Path(tmp) / "clip.wav"
        _run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav_path),
              text])  # fmt: skip
        wav, sr = sf.read(wav_path, dtype="float32")  # [N] at 22050 Hz
    out = finish(wav, sr, sample_rate=sample_rate, seconds=seconds)
    labels = {
        "voice": voice,
        "text": text,
        "speed": str(speed),
        "pitch": str(pitch),
        "speech_seconds": f"{len(wav) / sr:.2f}",
    }
    return None if out is None else (out, labels)


# ----------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class SetKind:
    render: Callable[..., tuple[np.ndarray, dict[str, str]] | None]
    label: str  # the label column that names the clip's subfolder
    columns: tuple[str, ...]  # metadata.csv header
    default_n: int
    binaries: tuple[str, ...]
    install: str


KINDS = {
    "music": SetKind(
        render_music, "instrument", ("path", "instrument", "program", "notes"), 600,
        ("fluidsynth",), MUSIC_PACKAGES,
    ),
    "speech": SetKind(
        render_speech, "voice", ("path", "voice", "text", "speed", "pitch", "speech_seconds"),
        400, ("espeak-ng",), SPEECH_PACKAGE,
    ),
}  # fmt: skip


def missing_tools(kind: str, soundfont: Path) -> str | None:
    """One line naming what to install, or None when every binary (and soundfont) is there."""
    spec = KINDS[kind]
    missing = [b for b in spec.binaries if shutil.which(b) is None]
    if kind == "music" and not soundfont.is_file():
        missing.append(f"soundfont {soundfont}")
    if not missing:
        return None
    return f"error: {', '.join(missing)} not found; install with: {spec.install}"


def write_clip(index: int, *, render: Render, label: str, out: Path, sample_rate: int) -> dict:
    """Render and save clip ``index``; returns its metadata row, or {"skipped": reason}."""
    try:
        clip = render(index)
    except (RuntimeError, OSError, sf.LibsndfileError) as e:
        return {"skipped": f"clip {index}: {e}"}
    if clip is None:
        return {"skipped": f"clip {index}: silent"}
    wav, labels = clip
    rel = f"{labels[label].replace('+', '_')}/{index:05d}.wav"
    with atomic_path(out / rel) as tmp:
        sf.write(tmp, wav, sample_rate, format="WAV", subtype="PCM_16")
    return {"path": rel, **labels}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("--out", type=Path, help="default data/<kind>")
    parser.add_argument("--n", type=int, help="clips (default 600 music, 400 speech)")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--soundfont", type=Path, default=SOUNDFONT)
    parser.add_argument(
        "--voices",
        help="speech: comma-separated espeak-ng voices (default: VOICES); "
        "hold voices out of training by giving the held-out set others",
    )
    parser.add_argument("--force", action="store_true", help="write into a non-empty --out")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    spec = KINDS[args.kind]
    out: Path = args.out or Path("data") / args.kind
    n = spec.default_n if args.n is None else args.n
    if n < 1 or args.seconds <= 0 or args.sample_rate < 8000 or args.workers < 1:
        print("error: need --n >= 1, --seconds > 0, --sample-rate >= 8000, --workers >= 1",
              file=sys.stderr)  # fmt: skip
        return 2
    if problem := missing_tools(args.kind, args.soundfont):
        print(problem, file=sys.stderr)
        return 2
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        print(f"error: {out} is not empty; pass --force to write into it", file=sys.stderr)
        return 2
    extra = {"soundfont": args.soundfont} if args.kind == "music" else {}
    if args.kind == "speech" and args.voices:
        extra["voices"] = tuple(v.strip() for v in args.voices.split(",") if v.strip())
    render = partial(
        spec.render, seed=args.seed, seconds=args.seconds, sample_rate=args.sample_rate, **extra
    )
    work = partial(
        write_clip, render=render, label=spec.label, out=out, sample_rate=args.sample_rate
    )
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    rows, skipped = [], []
    pool = ProcessPoolExecutor(args.workers) if args.workers > 1 else None
    results = pool.map(work, range(n), chunksize=4) if pool else map(work, range(n))
    with Progress(transient=True) as bar:
        task = bar.add_task(f"{args.kind} -> {out}", total=n)
        for row in results:
            if "skipped" in row:
                skipped.append(row["skipped"])
            else:
                rows.append(row)
            bar.advance(task)
    if pool:
        pool.shutdown()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=spec.columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "metadata.csv", buf.getvalue())
    elapsed = time.perf_counter() - start
    for reason in skipped[:3]:
        print(f"skipped {reason}", file=sys.stderr)
    print(
        f"{args.kind}: wrote {len(rows)} clips, skipped {len(skipped)}, "
        f"{elapsed:.1f} s ({elapsed / n:.2f} s/clip) -> {out}"
    )
    return 0 if rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
