"""Waveforms and spectral representations: I/O, resampling, STFT/mel, Griffin-Lim."""

from audiodiff.audio.io import AUDIO_EXTENSIONS, find_audio, load, resample, save

__all__ = ["AUDIO_EXTENSIONS", "find_audio", "load", "resample", "save"]
