"""Editing with a trained prior: variation (SDEdit), inpainting and outpainting in time,
long-form generation in windows and seamless loops.

One mechanism throughout: a start (noise, or the source noised to a strength) and, where
frames are known, posterior sampling through ``observe`` with restoration's ``KnownSamples``
and ``data_consistency`` / ``tweedie_posterior`` (``audiodiff.restore``). Every solver serves
every edit unchanged.
"""

from audiodiff.editing.inpainting import extend, inpaint, parse_spans
from audiodiff.editing.longform import generate_long
from audiodiff.editing.variation import strength_sigma, strength_steps, vary

__all__ = [
    "extend",
    "generate_long",
    "inpaint",
    "parse_spans",
    "strength_sigma",
    "strength_steps",
    "vary",
]
