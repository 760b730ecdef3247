"""Pictures people would rather look at than read: spectrogram sheets."""

from audiodiff.viz.spectrogram import save_spectrogram_sheet

__all__ = ["save_spectrogram_sheet"]
