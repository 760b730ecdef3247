"""The tiny model, preconditioned as in training, memorises a fixed batch.

Everything random is fixed (clips, labels, noise levels, noise), the classic "overfit one
batch" check: the EDM-weighted loss on it must fall at least 10x.
"""

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from audiodiff.audio.mel import MelRepresentation
from audiodiff.cli.config import config_dir
from audiodiff.data.synth import SynthSpec, make_clip
from audiodiff.diffusion.loss import edm_weight
from audiodiff.diffusion.precond import Denoiser


def test_tiny_model_overfits_a_fixed_batch():
    torch.manual_seed(0)
    rep = MelRepresentation()
    spec = SynthSpec(n=4)
    wavs = [torch.from_numpy(make_clip(spec, i)[0][:8192])[None] for i in range(4)]
    x = rep.encode(torch.stack(wavs))  # [4, 80, 32]
    cond = {"instrument": torch.tensor([1, 2, 3, 4]), "pitch": torch.tensor([3, 5, 7, 9])}
    sigma = torch.tensor([0.2, 0.5, 1.0, 5.0])
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    make_net = instantiate(OmegaConf.load(config_dir() / "model" / "tiny.yaml"))
    denoiser = Denoiser(make_net(in_channels=80, label_sizes={"instrument": 9, "pitch": 26}))
    weight = edm_weight(sigma, 1.0)[:, None, None]

    def loss() -> torch.Tensor:
        x0_hat = denoiser(x + sigma[:, None, None] * noise, sigma, cond)
        return (weight * (x0_hat - x) ** 2).mean()

    with torch.no_grad():
        before = loss().item()
    opt = torch.optim.Adam(denoiser.parameters(), lr=1e-3)
    for _ in range(200):
        value = loss()
        opt.zero_grad()
        value.backward()
        opt.step()
    with torch.no_grad():
        after = loss().item()
    assert after < before / 10, (before, after)
