"""Restoration: degradation operators (``degrade``), observations and posterior sampling."""
