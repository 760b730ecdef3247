"""Build labelled sets of real rendered audio: GM instruments through a soundfont, or speech.

    python scripts/make_real_sets.py music|speech [--out DIR] [--n N] [--seconds S]
        [--seed SEED] [--sample-rate 16000] [--workers 2] [--force]
        [--kinds note,phrase,chord,drums] [--instruments piano,flute,...]   (music)
        [--voices en-us,en-gb,...]                                          (speech)

music: clips of the General MIDI instruments in ``INSTRUMENTS`` (piano, vibraphone,
marimba, church_organ, nylon_guitar, steel_guitar, acoustic_bass, violin, cello, trumpet,
clarinet, flute, and drums on the GM percussion channel 10), written as Standard MIDI Files
by ``midi.write_smf`` and rendered by fluidsynth with FluidR3_GM
(``apt-get install fluidsynth fluid-soundfont-gm``). Each clip is one of ``--kinds``:

    note    one sustained note, struck in the first 60 ms and held for 75-100% of the clip
    phrase  a short random melody (a walk on a major/minor scale, 1.5-6 notes/s; piano,
            mallets, organ and guitars add a third or fifth above ~15% of the notes)
    chord   3 or 4 notes (a triad, a seventh chord or a triad with the octave) struck
            together in the first 60 ms and held
    drums   a one-bar GM percussion pattern (kick, snare, hi-hats, toms, crash), repeated

Pitched instruments play note / phrase / chord, drawn by the clip's RNG with weights
``KIND_WEIGHTS`` (0.3 / 0.4 / 0.3) among the chosen kinds; the drums instrument plays drums.
Without drums in ``--kinds`` the drums instrument is left out; with only drums, only it plays.
``--instruments`` picks a subset of ``INSTRUMENTS`` by name. metadata.csv columns:

    instrument  the instrument name (also the clip's subfolder)
    program     its GM program, 0-based (empty for drums: kit 0 on channel 10)
    notes       how many notes the MIDI file strikes
    kind        note, phrase, chord or drums
    main_pitch  MIDI note number: the note (note), the first note (phrase), the lowest
                note, the root (chord); empty for drums
    onsets      the distinct note-on times in seconds (3 decimals, space-separated, those
                before --seconds), read back from the MIDI file that was rendered; the
                sound itself rises some ms later (a flute's attack: up to ~50 ms)

As condition labels (``data.labels=[instrument,kind,main_pitch]``) every distinct value is
a category; an empty value (drums' main_pitch) gets the null id 0, the id classifier-free
guidance uses for "no condition", so drum clips train main_pitch-unconditioned. Pitches
are categories too (no order between them): one that no training clip has is not in the
vocabulary. Do not use ``onsets`` (a different value nearly every clip) as a label.

speech: random 5-12 word sentences from ``WORDS`` spoken by espeak-ng
(``apt-get install espeak-ng``) with one of ``VOICES`` at a random speed and pitch.
Labels: ``voice`` and ``text`` (the whole sentence, also when ``--seconds`` cuts it short;
``speech_seconds`` is its uncut length).

Clip i depends only on (seed, i) and the options, so the same command writes the same
files; the instrument / voice cycles with i so classes are balanced. Layout (16-bit mono
WAV, every clip exactly ``--seconds`` long, peak -1 dBFS)::

    out/<label>/<index:05d>.wav
    out/metadata.csv     path (relative to out) + string label columns, read by data=folder

Train and held-out sets are two runs with different seeds (another seed gives other notes,
phrases, chords, patterns and sentences) and folders:

    python scripts/make_real_sets.py music --seed 0 --out data/music
    python scripts/make_real_sets.py music --seed 1 --n 100 --out data/music_heldout
    python scripts/make_real_sets.py speech --seed 0 --out data/speech
    python scripts/make_real_sets.py speech --seed 1 --n 80 --out data/speech_heldout

then e.g. ``data=folder data.root=data/music data.labels=[instrument,kind,main_pitch]``;
``--kinds note,phrase,chord`` gives a set without drums, ``--kinds note --instruments
flute,violin`` single notes of two instruments.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
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
from midi import DRUM_CHANNEL, Note, onset_seconds, write_smf  # scripts/midi.py
from rich.progress import Progress

from audiodiff.fileio import atomic_path, write_text

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MUSIC_PACKAGES = "apt-get install fluidsynth fluid-soundfont-gm"
SPEECH_PACKAGE = "apt-get install espeak-ng"
PEAK = 10 ** (-1 / 20)  # -1 dBFS
SILENT_PEAK = 1e-3  # a render whose peak is below this (-60 dBFS) is skipped
# index -> (wav [N] float32 at the set's sample rate, string labels), or None when silent.
Render = Callable[[int], tuple[np.ndarray, dict[str, str]] | None]


# ----------------------------------------------------------------------------- music


@dataclass(frozen=True)
class Instrument:
    name: str
    program: int  # General MIDI program, 0-based (drums: the kit, on DRUM_CHANNEL)
    low: int  # pitch range, MIDI notes
    high: int
    chords: bool  # phrases add a third or fifth above some notes
    drums: bool = False  # plays drum patterns on the GM percussion channel


INSTRUMENTS = (
    Instrument("piano", 0, 48, 84, True),
    Instrument("vibraphone", 11, 53, 89, True),
    Instrument("marimba", 12, 48, 84, True),
    Instrument("church_organ", 19, 41, 77, True),
    Instrument("nylon_guitar", 24, 40, 76, True),
    Instrument("steel_guitar", 25, 40, 76, True),
    Instrument("acoustic_bass", 32, 28, 52, False),
    Instrument("violin", 40, 55, 88, False),
    Instrument("cello", 42, 36, 69, False),
    Instrument("trumpet", 56, 55, 82, False),
    Instrument("clarinet", 71, 50, 84, False),
    Instrument("flute", 73, 60, 93, False),
    Instrument("drums", 0, 35, 81, False, drums=True),
)
CLIP_KINDS = ("note", "phrase", "chord", "drums")
KIND_WEIGHTS = {"note": 0.3, "phrase": 0.4, "chord": 0.3}  # of a pitched instrument's clips
CHORDS = ((0, 4, 7), (0, 3, 7), (0, 4, 7, 12), (0, 3, 7, 12), (0, 4, 7, 10), (0, 3, 7, 10),
          (0, 4, 7, 11))  # fmt: skip
KICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH, RIDE = 36, 38, 42, 46, 49, 51
TOMS = (50, 48, 45, 41)  # high to low
_MAJOR, _MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)


class Clip(NamedTuple):
    instrument: Instrument
    kind: str
    notes: list[Note]
    main_pitch: int | None  # None for drums


def melody(inst: Instrument, rng: np.random.Generator, *, seconds: float) -> list[Note]:
    """A random walk on a random major/minor scale in the instrument's range, 1.5-6 notes/s.

    Durations are 1/2..2 beats of a random tempo (90-180 bpm); ~8% rests, never the first;
    chord instruments add a third or fifth above ~15% of the notes.
    """
    root, scale = int(rng.integers(12)), _MAJOR if rng.random() < 0.5 else _MINOR
    pitches = [p for p in range(inst.low, inst.high + 1) if (p - root) % 12 in scale]
    beat = 60_000 / rng.uniform(90, 180)  # ms
    pos = int(rng.integers(len(pitches) // 4, 3 * len(pitches) // 4))
    t, notes = int(rng.integers(0, 100)), []
    while t < seconds * 1000:
        dur = int(beat * rng.choice([0.5, 1, 1, 1, 1.5, 2]))
        if rng.random() > 0.08 or not notes:
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


def _held(rng: np.random.Generator, seconds: float) -> tuple[int, int]:
    """(start, length) in ms of a sustained sound: struck at 0-60 ms, held 75-100% of the rest."""
    start = int(rng.integers(0, 61))
    return start, max(int((seconds * 1000 - start) * rng.uniform(0.75, 1.0)), 30)


def single_note(inst: Instrument, rng: np.random.Generator, *, seconds: float) -> list[Note]:
    """One note anywhere in the instrument's range, velocity 70-110, held (``_held``)."""
    pitch = int(rng.integers(inst.low, inst.high + 1))
    start, length = _held(rng, seconds)
    return [Note(start, length, pitch, int(rng.integers(70, 111)))]


def chord(inst: Instrument, rng: np.random.Generator, *, seconds: float) -> list[Note]:
    """One of ``CHORDS`` on a root that keeps it in range, all notes struck at once, held.

    The root is the first and lowest note; the others are up to 10 velocity steps softer.
    """
    intervals = CHORDS[int(rng.integers(len(CHORDS)))]
    root = int(rng.integers(inst.low, max(inst.high - intervals[-1], inst.low) + 1))
    start, length = _held(rng, seconds)
    velocity = int(rng.integers(65, 106))
    return [
        Note(start, length, root + step, velocity - (int(rng.integers(0, 11)) if step else 0))
        for step in intervals
    ]


def drum_pattern(rng: np.random.Generator, *, seconds: float) -> list[Note]:
    """A one-bar 16-step pattern at 80-160 bpm, repeated from 0-60 ms until ``seconds``.

    Kick on 1 and 3 plus random 16ths, snare on 2 and 4, closed hi-hat or ride on every 8th
    or 16th (accented on the beats, the last one sometimes an open hi-hat); maybe a crash
    on the first beat, and a tom fill ending every fourth bar. GM percussion keys.
    """
    step = 60_000 / rng.uniform(80, 160) / 4  # ms per 16th
    every = int(rng.choice([1, 2]))
    cymbal = CLOSED_HAT if rng.random() < 0.75 else RIDE
    bar: list[tuple[int, int, int]] = []  # (step, key, velocity)
    for s in range(16):
        if s in (0, 8) or (s not in (4, 12) and rng.random() < 0.15):
            bar.append((s, KICK, int(rng.integers(90, 121))))
        if s in (4, 12):
            bar.append((s, SNARE, int(rng.integers(85, 116))))
        if s % every == 0:
            accent = 20 if s % 4 == 0 else 0
            bar.append((s, cymbal, int(rng.integers(50, 76)) + accent))
    if cymbal == CLOSED_HAT and rng.random() < 0.4:
        last = max(i for i, (_, key, _) in enumerate(bar) if key == CLOSED_HAT)
        bar[last] = (bar[last][0], OPEN_HAT, bar[last][2])
    crash = rng.random() < 0.5
    fill = [(12 + i, TOMS[i], int(rng.integers(80, 111))) for i in range(4)]
    t0, notes, k = int(rng.integers(0, 61)), [], 0
    while t0 + k * 16 * step < seconds * 1000:
        hits = ([h for h in bar if h[0] < 12] + fill) if k % 4 == 3 else list(bar)
        if k == 0 and crash:
            hits.append((0, CRASH, 100))
        for s, key, velocity in hits:
            start = int(t0 + (k * 16 + s) * step)
            if start < seconds * 1000:
                notes.append(Note(start, 80, key, velocity))
        k += 1
    return notes


def playable(instruments: Sequence[Instrument], kinds: Sequence[str]) -> tuple[Instrument, ...]:
    """The instruments that play one of ``kinds``: drums for drums, the others a pitched kind."""
    pitched = any(k in KIND_WEIGHTS for k in kinds)
    return tuple(i for i in instruments if (("drums" in kinds) if i.drums else pitched))


def plan_clip(
    index: int,
    *,
    seed: int,
    seconds: float,
    instruments: Sequence[Instrument] = INSTRUMENTS,
    kinds: Sequence[str] = CLIP_KINDS,
) -> Clip:
    """Clip ``index``: instrument (cycling over ``playable``), kind, notes; RNG (seed, index)."""
    rng = np.random.default_rng([seed, index])
    usable = playable(instruments, kinds)
    if not usable:
        raise ValueError(f"no instrument of {[i.name for i in instruments]} plays {kinds}")
    inst = usable[index % len(usable)]
    if inst.drums:
        return Clip(inst, "drums", drum_pattern(rng, seconds=seconds), None)
    pitched = [k for k in KIND_WEIGHTS if k in kinds]
    weights = np.array([KIND_WEIGHTS[k] for k in pitched])
    kind = pitched[int(rng.choice(len(pitched), p=weights / weights.sum()))]
    make = {"note": single_note, "phrase": melody, "chord": chord}[kind]
    notes = make(inst, rng, seconds=seconds)
    return Clip(inst, kind, notes, notes[0].pitch)


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
    index: int,
    *,
    seed: int,
    seconds: float,
    sample_rate: int,
    soundfont: Path,
    instruments: Sequence[Instrument] = INSTRUMENTS,
    kinds: Sequence[str] = CLIP_KINDS,
) -> tuple[np.ndarray, dict[str, str]] | None:
    """Clip ``index``: wav [round(seconds * sample_rate)] and the ``MUSIC_COLUMNS`` labels."""
    clip = plan_clip(index, seed=seed, seconds=seconds, instruments=instruments, kinds=kinds)
    inst = clip.instrument
    end = int(seconds * 1000) + 300
    channel = DRUM_CHANNEL if inst.drums else 0
    smf = write_smf(clip.notes, program=inst.program, channel=channel, end_tick=end)
    # fluidsynth's sample interpolation aliases at low rates (~10 dB more 6-7 kHz energy at
    # 16k): render at >= 44.1 kHz (fluidsynth's limit is 96k) and let soxr band-limit.
    render_sr = min(max(sample_rate, 44100), 96000)
    with tempfile.TemporaryDirectory(prefix="realset_") as tmp:
        mid, wav_path = Path(tmp) / "clip.mid", Path(tmp) / "clip.wav"
        mid.write_bytes(smf)
        # dynamic-sample-loading reads only the samples the program uses: half the start-up.
        _run(["fluidsynth", "-ni", "-q", "-o", "synth.dynamic-sample-loading=1", "-g", "0.8",
              "-r", str(render_sr), "-F", str(wav_path), str(soundfont), str(mid)])  # fmt: skip
        wav, sr = sf.read(wav_path, dtype="float32")  # [N, 2]
    out = finish(wav, sr, sample_rate=sample_rate, seconds=seconds)
    labels = {
        "instrument": inst.name,
        "program": "" if inst.drums else str(inst.program),
        "notes": str(len(clip.notes)),
        "kind": clip.kind,
        "main_pitch": "" if clip.main_pitch is None else str(clip.main_pitch),
        "onsets": " ".join(f"{t:.3f}" for t in onset_seconds(smf, until=seconds)),
    }
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


MUSIC_COLUMNS = ("path", "instrument", "program", "notes", "kind", "main_pitch", "onsets")
KINDS = {
    "music": SetKind(
        render_music, "instrument", MUSIC_COLUMNS, 600, ("fluidsynth",), MUSIC_PACKAGES
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


def _names(option: str | None, default: Sequence[str]) -> list[str]:
    """A comma-separated option's distinct names in order; ``default`` when not given."""
    if not option:
        return list(default)
    return list(dict.fromkeys(n.strip() for n in option.split(",") if n.strip()))


def music_options(
    kinds: str | None, instruments: str | None
) -> tuple[tuple[Instrument, ...], tuple[str, ...]] | str:
    """(instruments that play, kinds) from the comma-separated options, or an error line."""
    by_name = {i.name: i for i in INSTRUMENTS}
    picked_kinds, names = _names(kinds, CLIP_KINDS), _names(instruments, by_name)
    for option, given, valid in [
        ("kinds", picked_kinds, CLIP_KINDS),
        ("instruments", names, by_name),
    ]:
        bad = [n for n in given if n not in valid]
        if bad or not given:
            return f"error: unknown --{option} {', '.join(bad)!r}; valid: {', '.join(valid)}"
    usable = playable([by_name[n] for n in names], picked_kinds)
    if not usable:
        return f"error: none of --instruments {','.join(names)} plays {','.join(picked_kinds)}"
    return usable, tuple(picked_kinds)


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
        "--kinds",
        help=f"music: comma-separated clip kinds of {','.join(CLIP_KINDS)} (default: all)",
    )
    parser.add_argument(
        "--instruments",
        help="music: comma-separated names from INSTRUMENTS (default: all that play --kinds)",
    )
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
    extra: dict = {}
    if args.kind == "music":
        picked = music_options(args.kinds, args.instruments)
        if isinstance(picked, str):
            print(picked, file=sys.stderr)
            return 2
        extra = {"soundfont": args.soundfont, "instruments": picked[0], "kinds": picked[1]}
    elif args.kinds or args.instruments:
        print("error: --kinds and --instruments are music options", file=sys.stderr)
        return 2
    elif args.voices:
        extra["voices"] = tuple(v.strip() for v in args.voices.split(",") if v.strip())
    if problem := missing_tools(args.kind, args.soundfont):
        print(problem, file=sys.stderr)
        return 2
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        print(f"error: {out} is not empty; pass --force to write into it", file=sys.stderr)
        return 2
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
