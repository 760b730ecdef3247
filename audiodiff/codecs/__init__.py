"""Decoders from a representation back to waveform: neural vocoders and autoencoders."""
