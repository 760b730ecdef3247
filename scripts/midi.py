"""A hand-written Standard MIDI File writer (format 0) and the reader the onset labels use.

``write_smf`` turns ``Note`` lists into the bytes fluidsynth renders; ``note_ons`` reads the
note-on events back from those bytes and ``onset_seconds`` turns them into the ``onsets``
label of ``make_real_sets.py music``, so the label is what the file says, not a second
bookkeeping of the same notes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

TICKS_PER_QUARTER = 1000
TEMPO_US = 1_000_000  # one quarter per second: 1 tick = 1 ms
DRUM_CHANNEL = 9  # General MIDI percussion: channel 10, 0-based 9


class Note(NamedTuple):
    start: int  # ticks
    length: int  # ticks, >= 1
    pitch: int  # MIDI note 0..127 (on the drum channel: the GM percussion key)
    velocity: int  # 1..127


class NoteOn(NamedTuple):
    tick: int
    channel: int
    pitch: int
    velocity: int


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


def read_vlq(data: bytes, i: int) -> tuple[int, int]:
    """(value, index after it) of the variable-length quantity at ``data[i]``."""
    value = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated variable-length quantity")
        value = (value << 7) | (data[i] & 0x7F)
        i += 1
        if not data[i - 1] & 0x80:
            return value, i


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
    On ``DRUM_CHANNEL`` the program selects the drum kit (0: the GM standard kit).
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


def note_ons(data: bytes) -> tuple[list[NoteOn], int, int]:
    """(note-ons in file order, ticks per quarter, tempo in us) of a file ``write_smf`` wrote.

    Reads one track of meta, program-change and note events (what ``write_smf`` writes, no
    running status); a note-on of velocity 0 is a note-off. One tempo for the whole file.
    """
    if data[:4] != b"MThd" or data[14:18] != b"MTrk":
        raise ValueError("not a single-track Standard MIDI File")
    _, _, _, division = struct.unpack(">IHHH", data[4:14])
    (length,) = struct.unpack(">I", data[18:22])
    track, tempo, tick, i, ons = data[22 : 22 + length], TEMPO_US, 0, 0, []
    while i < len(track):
        delta, i = read_vlq(track, i)
        tick += delta
        status = track[i]
        if status == 0xFF:
            kind, (size, j) = track[i + 1], read_vlq(track, i + 2)
            if kind == 0x51:
                tempo = int.from_bytes(track[j : j + size], "big")
            i = j + size
        elif status & 0xF0 in (0xC0, 0xD0):
            i += 2
        elif status & 0xF0 in (0x80, 0x90, 0xA0, 0xB0, 0xE0):
            if status & 0xF0 == 0x90 and track[i + 2] > 0:
                ons.append(NoteOn(tick, status & 0x0F, track[i + 1], track[i + 2]))
            i += 3
        else:
            raise ValueError(f"unsupported MIDI status byte 0x{status:02x}")
    return ons, division, tempo


def onset_seconds(data: bytes, *, until: float | None = None) -> list[float]:
    """Sorted distinct note-on times in seconds of a ``write_smf`` file, those < ``until``.

    Notes struck together (a chord, a kick and a hi-hat) are one onset.
    """
    ons, division, tempo = note_ons(data)
    seconds_per_tick = tempo / 1e6 / division
    times = sorted({on.tick for on in ons})
    out = [t * seconds_per_tick for t in times]
    return [t for t in out if until is None or t < until]
