"""Shared pieces of the cross-checks against reference implementations (k-diffusion, diffusers).

The reference packages are optional test peers: ``load_kdiffusion_sampling`` returns None when
k-diffusion (or one of the packages its ``sampling.py`` really needs) is not installed, and
the test modules skip with a reason.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import types
from pathlib import Path

import torch

S = 0.5  # data std of the Gaussian part of the test denoiser
_KD_PACKAGE = "_audiodiff_ref_k_diffusion"  # private name: never shadows a real `k_diffusion`


def load_kdiffusion_sampling() -> types.ModuleType | None:
    """``k_diffusion/sampling.py`` loaded WITHOUT the package ``__init__`` (CLIP, torchvision).

    ``sampling.py`` needs only ``utils.append_dims`` from ``k_diffusion.utils`` (which imports
    torchvision, PIL, safetensors): that one function is compiled from the real ``utils.py``.
    ``torchdiffeq`` is used only by ``log_likelihood``; a placeholder stands in when it is
    missing. Returns None when k-diffusion, scipy, torchsde or tqdm is not installed.
    """
    if _KD_PACKAGE + ".sampling" in sys.modules:
        return sys.modules[_KD_PACKAGE + ".sampling"]
    spec = importlib.util.find_spec("k_diffusion")
    if spec is None or not spec.submodule_search_locations:
        return None
    for dep in ("scipy.integrate", "torchsde", "tqdm.auto"):
        try:
            importlib.import_module(dep)
        except ImportError:
            return None
    root = Path(next(iter(spec.submodule_search_locations)))
    sampling_path, utils_path = root / "sampling.py", root / "utils.py"
    if not (sampling_path.is_file() and utils_path.is_file()):
        return None

    package = types.ModuleType(_KD_PACKAGE)
    package.__path__ = [str(root)]
    utils = types.ModuleType(_KD_PACKAGE + ".utils")
    tree = ast.parse(utils_path.read_text())
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "append_dims"]
    if not funcs:
        return None
    code = compile(ast.Module(body=funcs, type_ignores=[]), str(utils_path), "exec")
    exec(code, utils.__dict__)  # noqa: S102 - the real k-diffusion function, nothing else
    package.utils = utils

    added = {_KD_PACKAGE: package, _KD_PACKAGE + ".utils": utils}
    try:
        importlib.import_module("torchdiffeq")
    except ImportError:
        stub = types.ModuleType("torchdiffeq")

        def odeint(*args, **kwargs):
            raise RuntimeError("torchdiffeq is not installed (placeholder for the tests)")

        stub.odeint = odeint
        added["torchdiffeq"] = stub
    sys.modules.update(added)
    try:
        mod_spec = importlib.util.spec_from_file_location(_KD_PACKAGE + ".sampling", sampling_path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[mod_spec.name] = module
        mod_spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(_KD_PACKAGE + ".sampling", None)
        for name in added:
            sys.modules.pop(name, None)
        return None
    if "torchdiffeq" in added:  # the placeholder only had to satisfy the import
        sys.modules.pop("torchdiffeq", None)
    return module


class NonlinearDenoiser:
    """A fixed smooth, nonlinear x0 predictor on [B, C, T]: Gaussian ideal denoiser + tanh mix.

    D(x, s) = S^2/(S^2+s^2) x + 0.3 S / sqrt(S^2+s^2) tanh(W x / sqrt(S^2+s^2) + b) with a
    random channel mixing W [C, C] and bias b [C, 1]; counts its calls.
    """

    def __init__(self, channels: int = 3, dtype: torch.dtype = torch.float64, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.w = torch.randn(channels, channels, generator=g, dtype=dtype) / channels**0.5
        self.b = 0.5 * torch.randn(channels, 1, generator=g, dtype=dtype)
        self.calls = 0

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, cond=None) -> torch.Tensor:
        # x: [B, C, T], sigma: [B] -> x0_hat: [B, C, T]
        self.calls += 1
        sigma = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, 1, 1)
        scale = (S**2 + sigma**2).sqrt()
        mix = torch.einsum("ij,bjt->bit", self.w.to(x.dtype), x) / scale + self.b.to(x.dtype)
        return S**2 / scale**2 * x + 0.3 * S / scale * torch.tanh(mix)


def ideal(x: torch.Tensor, sigma, cond=None) -> torch.Tensor:
    """Ideal denoiser of x0 ~ N(0, S^2 I): D(x, s) = S^2 / (S^2 + s^2) x."""
    sigma = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
    return S**2 / (S**2 + sigma**2) * x


def start_noise(sigma_max: float, shape=(2, 3, 16), seed: int = 1, dtype=torch.float64):
    """x at sigma_max: sigma_max * unit Gaussian noise of ``shape``."""
    g = torch.Generator().manual_seed(seed)
    return sigma_max * torch.randn(shape, generator=g, dtype=dtype)


def rel_diff(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """||ours - theirs|| / ||theirs||."""
    return ((ours - theirs).norm() / theirs.norm()).item()
