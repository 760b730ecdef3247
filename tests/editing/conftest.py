"""An analytic model for editing tests: a Gaussian AR(1) prior (Sigma_ij = rho^|i-j|) over
D frames, whose exact denoiser is D(x, sigma) = Sigma (Sigma + sigma^2 I)^-1 x, behind the
identity representation (one channel, hop 1), so frames are samples and the closed-form
conditional of the prior is the truth an inpainting must sample."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audiodiff.audio.representation import Representation
from audiodiff.data.vocab import LabelVocab
from audiodiff.fastpath import FastPath
from audiodiff.pipeline import Pipeline

D = 24  # frames the prior covers: the model's context
RHO = 0.9


def ar1_cov(d: int = D) -> torch.Tensor:
    i = torch.arange(d, dtype=torch.float64)
    return RHO ** (i[:, None] - i[None, :]).abs()


class GaussianDenoiser(nn.Module):
    """E[x0 | x] for x0 ~ N(0, Sigma), x = x0 + sigma n; x: [B, 1, D]; counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        lam, u = torch.linalg.eigh(ar1_cov())
        self.register_buffer("lam", lam.float())
        self.register_buffer("u", u.float())
        self.calls = 0

    def forward(self, x, sigma, cond=None):
        self.calls += 1
        s = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, 1)  # [B or 1, 1]
        gain = self.lam / (self.lam + s**2)  # [B or 1, D]
        return (((x[:, 0] @ self.u) * gain) @ self.u.T)[:, None]


class Identity(Representation):
    """x = wav: one channel, one frame a sample."""

    def __init__(self, sample_rate: int = D) -> None:
        super().__init__()
        self.sample_rate = sample_rate

    @property
    def channels(self) -> int:
        return 1

    @property
    def hop_length(self) -> int:
        return 1

    def encode(self, wav):
        return wav.float()

    def decode(self, x):
        return x.float()

    def config(self):
        return {"sample_rate": self.sample_rate}


def gaussian_pipeline(batch_size: int = 4096) -> Pipeline:
    """1 s = D frames = the training context (data.segment_seconds 1)."""
    config = {
        "model": {},
        "diffusion": {"sigma_min": 0.002, "sigma_max": 80.0, "sigma_data": 1.0},
        "sampler": {"name": "heun", "steps": 32, "schedule": "karras", "rho": 7.0},
        "data": {"segment_seconds": 1.0},
    }
    pipe = Pipeline(GaussianDenoiser(), Identity(), LabelVocab({}), config, device="cpu")
    return pipe.set_fast(FastPath(batch_size=batch_size))


@pytest.fixture
def gaussian_pipe() -> Pipeline:
    return gaussian_pipeline()


@pytest.fixture
def gaussian():
    """The analytic prior's pieces: gaussian.D, gaussian.cov(), gaussian.pipeline(batch)."""
    from types import SimpleNamespace

    return SimpleNamespace(D=D, cov=ar1_cov, pipeline=gaussian_pipeline)


@pytest.fixture(scope="module")
def smoke_pipe(smoke_run):
    import audiodiff

    return audiodiff.load(smoke_run / "model", device="cpu")
