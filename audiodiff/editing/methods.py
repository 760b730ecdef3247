"""The editing methods of ``Pipeline`` (``pipe.vary``, ``pipe.inpaint``, ``pipe.extend``,
``pipe.generate_long``): each hands the pipeline to its function in this package."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torch import Tensor

if TYPE_CHECKING:
    from audiodiff.pipeline import CondValue


class EditingMethods:
    """Mixed into ``audiodiff.pipeline.Pipeline``; ``self`` is the pipeline."""

    def vary(
        self,
        wav: Tensor,
        sample_rate: int,
        strength: float = 0.5,
        n: int = 1,
        cond: Mapping[str, CondValue] | None = None,
        seed: int = 0,
        **sampling: Any,
    ) -> Tensor:
        """n variations [n, 1, N] (at ``self.sample_rate``) of a recording [C, N] or [N] at
        ``sample_rate`` (channels averaged): SDEdit at ``strength`` in [0, 1]; 0 is
        decode(encode(wav)), 1 ignores it. ``sampling`` as in ``sample``
        (``audiodiff.editing.vary``)."""
        from audiodiff.editing import vary

        return vary(self, wav, sample_rate, strength, n, cond, seed, **sampling)[1]

    def inpaint(
        self,
        wav: Tensor,
        sample_rate: int,
        spans: Any,
        n: int = 1,
        cond: Mapping[str, CondValue] | None = None,
        seed: int = 0,
        **options: Any,
    ) -> Tensor:
        """The recording [C, N] or [N] at ``sample_rate`` with ``spans`` ([(start, end)] or
        "START:END", seconds) regenerated: [n, 1, N'] at ``self.sample_rate``, the recording
        itself outside the spans (crossfaded in). ``options``: before, after, fade, margin,
        cg_iters, strength and ``sample``'s keywords (``audiodiff.editing.inpaint``)."""
        from audiodiff.editing import inpaint

        return inpaint(self, wav, sample_rate, spans, n, cond, seed, **options)[1]

    def extend(
        self,
        wav: Tensor,
        sample_rate: int,
        before: float = 0.0,
        after: float = 0.0,
        n: int = 1,
        cond: Mapping[str, CondValue] | None = None,
        seed: int = 0,
        **options: Any,
    ) -> Tensor:
        """Outpainting: ``before`` / ``after`` seconds generated around the recording, which
        is kept: [n, 1, N + round((before + after) * sample_rate)] at ``self.sample_rate``
        (``audiodiff.editing.extend``; ``options`` as in ``inpaint``)."""
        from audiodiff.editing import extend

        return extend(self, wav, sample_rate, before, after, n, cond, seed, **options)[1]

    def generate_long(
        self,
        n: int = 1,
        seconds: float = 10.0,
        cond: Mapping[str, CondValue] | None = None,
        seed: int = 0,
        *,
        overlap: float | None = None,
        loop: bool = False,
        context: float | None = None,
        **sampling: Any,
    ) -> Tensor:
        """wav [n, 1, round(seconds * sample_rate)] generated in windows of ``context``
        seconds (None: the training crop), each sampled given the ``overlap`` seconds it
        shares with the one before (None: a quarter of the context); ``loop`` makes the end
        run on into the start (a whole number of frames: ceil(seconds * frame_rate) * hop
        samples). ``audiodiff.editing.generate_long``; ``sampling`` as in ``sample``, plus
        cg_iters, crossfade and release_sigma."""
        from audiodiff.editing.longform import decode_long, generate_long

        x = generate_long(
            self, n, seconds, cond, seed, overlap=overlap, loop=loop, context=context, **sampling
        )
        return decode_long(self, x, seconds, loop)
