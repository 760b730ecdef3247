"""EDM, v-prediction and rectified flow behind one D(x, sigma, cond), against Gaussian truth.

Data x0 ~ N(0, S^2 I): the exact denoiser is D*(x, sigma) = S^2 / (S^2 + sigma^2) x, and the
exact target of each parameterisation is linear in its own input x_t. An "oracle net" computes
that target from what the net is handed (x_t and its noise level), with the paper's
definitions of each path, so D built around it must equal D* if the change of variables is
right, every solver must sample std S, and each loss must sit at its analytic minimum.
"""

import math
import shutil

import pytest
import torch
import yaml
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

import audiodiff
from audiodiff.build import build_denoiser, build_representation, denoiser_config
from audiodiff.cli.config import compose
from audiodiff.data.vocab import LabelVocab
from audiodiff.diffusion import (
    Denoiser,
    EDMLoss,
    FlowDenoiser,
    FlowLoss,
    LogitNormalTime,
    UniformTime,
    VDenoiser,
    VPredLoss,
)
from audiodiff.diffusion.flow import flow_time
from audiodiff.diffusion.vpred import vp_time
from audiodiff.errors import ConfigError
from audiodiff.generation import sample
from audiodiff.safe_load import UnsafeCheckpointError
from audiodiff.sampling import SAMPLERS
from audiodiff.sampling.schedules import karras_sigmas
from audiodiff.sampling.solvers import sample_euler

S = 0.5  # data std
SIGMAS = (0.002, 0.05, 0.5, 1.0, 7.0, 80.0)


def vp_path(t):
    """(a, b, p, q) of x_t = a x0' + b n, target = p x0' + q n: cos/sin and v (Salimans & Ho)."""
    alpha, s = torch.cos(math.pi * t / 2), torch.sin(math.pi * t / 2)
    return alpha, s, -s, alpha


def flow_path(t):
    """x_t = (1 - t) x0' + t n, u = n - x0' (rectified flow)."""
    return 1 - t, t, -torch.ones_like(t), torch.ones_like(t)


def oracle_target(path, t, x_t, data_std):
    """E[p x0' + q n | x_t] for x0' ~ N(0, data_std^2): linear regression on x_t."""
    a, b, p, q = (c.view(-1, *([1] * (x_t.ndim - 1))) for c in path(t))
    cov = p * a * data_std**2 + q * b
    var = a**2 * data_std**2 + b**2
    return cov / var * x_t


def minimum_loss(path, t, data_std):
    """Var(target | x_t) per element: the lowest expected target-space MSE at t."""
    a, b, p, q = path(t)
    var_target = p**2 * data_std**2 + q**2
    cov = p * a * data_std**2 + q * b
    return var_target - cov**2 / (a**2 * data_std**2 + b**2)


class PathOracle(nn.Module):
    """Net of a path formulation: returns the exact target from (x_t, t); records inputs."""

    def __init__(self, path, sigma_data, perturb=0.0):
        super().__init__()
        self.path, self.sd, self.perturb, self.calls = path, sigma_data, perturb, []

    def forward(self, x_t, t, cond):
        self.calls.append((x_t.clone(), t.clone()))
        target = oracle_target(self.path, t, x_t, S / self.sd)
        return target + self.perturb * torch.sin(3 * x_t)  # perturb: a non-linear error


class EDMOracle(nn.Module):
    """EDM's F* = (D* - c_skip x) / c_out, from x_in = c_in x and c_noise = ln(sigma) / 4."""

    def __init__(self, sigma_data, perturb=0.0):
        super().__init__()
        self.sd, self.perturb = sigma_data, perturb

    def forward(self, x_in, c_noise, cond):
        sigma = (4 * c_noise).exp().view(-1, *([1] * (x_in.ndim - 1)))
        sd2 = self.sd**2
        x = x_in * (sigma**2 + sd2).sqrt()
        d = S**2 / (S**2 + sigma**2) * x
        f = (d - sd2 / (sigma**2 + sd2) * x) / (sigma * self.sd / (sigma**2 + sd2).sqrt())
        return f + self.perturb * torch.sin(3 * x_in)


FORMULATIONS = {  # name: (denoiser class, loss class, path or None, t as the net sees it)
    "edm": (Denoiser, EDMLoss, None, None),
    "vpred": (VDenoiser, VPredLoss, vp_path, vp_time),
    "flow": (FlowDenoiser, FlowLoss, flow_path, flow_time),
}


def oracle_denoiser(name, sigma_data=1.0, perturb=0.0):
    cls, _, path, _ = FORMULATIONS[name]
    net = EDMOracle(sigma_data, perturb) if path is None else PathOracle(path, sigma_data, perturb)
    return cls(net, sigma_data=sigma_data)


def ideal(x, sigma):
    sigma = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
    return S**2 / (S**2 + sigma**2) * x


def _randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --- the change of variables -----------------------------------------------------------------


@pytest.mark.parametrize("sigma_data", [1.0, 0.5, 0.07])
@pytest.mark.parametrize("name", sorted(FORMULATIONS))
def test_oracle_net_gives_the_exact_denoiser(name, sigma_data):
    x = 3.0 * _randn(len(SIGMAS), 2, 32)
    sigmas = torch.tensor(SIGMAS, dtype=torch.float64)
    d = oracle_denoiser(name, sigma_data)(x, sigmas)
    torch.testing.assert_close(d, ideal(x, sigmas), rtol=1e-5, atol=1e-5 * S)
    for s in (0.3, torch.tensor([0.3])):  # a scalar sigma broadcasts
        torch.testing.assert_close(oracle_denoiser(name, sigma_data)(x, s), ideal(x, 0.3))


@pytest.mark.parametrize("sigma_data", [1.0, 0.5])
@pytest.mark.parametrize("name", ["vpred", "flow"])
def test_net_sees_the_papers_x_t_and_t(name, sigma_data):
    """x = x0 + sigma n in EDM variables reaches the net as a(t) x0/sd + b(t) n with t in (0, 1)."""
    _, _, path, time = FORMULATIONS[name]
    x0, n = S * _randn(len(SIGMAS), 2, 16), _randn(len(SIGMAS), 2, 16, seed=1)
    sigmas = torch.tensor(SIGMAS, dtype=torch.float64)
    den = oracle_denoiser(name, sigma_data)
    den(x0 + sigmas.view(-1, 1, 1) * n, sigmas)
    ((x_t, t),) = den.net.calls
    a, b, _, _ = (c.view(-1, 1, 1) for c in path(t))
    torch.testing.assert_close(x_t, a * x0 / sigma_data + b * n, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(t, time(sigmas / sigma_data))
    assert (
        (t > 0).all()
        and (t < 1).all()
        and (b / a).flatten().tolist() == pytest.approx((sigmas / sigma_data).tolist(), rel=1e-9)
    )


def test_vp_and_flow_sigma_maps_are_the_briefs_formulas():
    t = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    alpha, s = torch.cos(math.pi * t / 2), torch.sin(math.pi * t / 2)
    torch.testing.assert_close(vp_time(s / alpha), t)  # sigma = s / alpha
    torch.testing.assert_close(flow_time(t / (1 - t)), t)  # sigma = t / (1 - t)


@pytest.mark.parametrize("name", ["vpred", "flow"])
def test_zero_sigma_returns_x_and_dtype_is_kept(name):
    x = _randn(2, 2, 8, dtype=torch.float32)
    den = oracle_denoiser(name)
    torch.testing.assert_close(den(x, 0.0), x, rtol=0, atol=1e-7)
    assert den(x.double(), 0.5).dtype == torch.float64 and den(x, 0.5).dtype == torch.float32
    with pytest.raises(ValueError, match="sigma_data"):
        FORMULATIONS[name][0](nn.Identity(), sigma_data=0.0)


# --- the losses ------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma_data", [1.0, 0.5])
@pytest.mark.parametrize("name", ["vpred", "flow"])
def test_loss_is_the_target_space_mse(name, sigma_data):
    """Computed through D, the loss is exactly the paper's MSE on v (or u) at the same t, n."""
    _, loss_cls, path, _ = FORMULATIONS[name]
    loss = loss_cls(sigma_data=sigma_data)
    x0, n = S * _randn(4, 2, 16), _randn(4, 2, 16, seed=1)
    t = torch.tensor([0.01, 0.3, 0.7, 0.99], dtype=torch.float64)
    den = oracle_denoiser(name, sigma_data, perturb=0.2)
    got = loss.at_times(den, x0, n, t, None)
    a, b, p, q = (c.view(-1, 1, 1) for c in path(t))
    x0p = x0 / sigma_data
    pred = den.net(a * x0p + b * n, t, None)
    want = (pred - (p * x0p + q * n)).square().flatten(1).mean(1)
    torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ["vpred", "flow"])
def test_oracle_loss_is_the_analytic_minimum_and_an_error_costs_its_square(name):
    _, loss_cls, path, _ = FORMULATIONS[name]
    loss = loss_cls(sigma_data=1.0)
    t = torch.tensor([0.05, 0.3, 0.5, 0.8, 0.97], dtype=torch.float64)
    x0, n = S * _randn(len(t), 4, 4096), _randn(len(t), 4, 4096, seed=1)
    best = loss.at_times(oracle_denoiser(name), x0, n, t, None)
    torch.testing.assert_close(best, minimum_loss(path, t, S), rtol=0.05, atol=0)
    shifted = type(oracle_denoiser(name))(_Shift(oracle_denoiser(name).net, 0.5))
    worse = loss.at_times(shifted, x0, n, t, None)
    torch.testing.assert_close(worse - best, torch.full_like(t, 0.25), rtol=0.1, atol=0)


class _Shift(nn.Module):
    def __init__(self, net, c):
        super().__init__()
        self.net, self.c = net, c

    def forward(self, x, t, cond):
        return self.net(x, t, cond) + self.c


def test_vpred_weight_is_edms_and_flows_is_up_to_twice_it():
    sigma = torch.tensor([0.01, 0.5, 2.0, 50.0], dtype=torch.float64)
    x0, n = S * _randn(4, 1, 256), _randn(4, 1, 256, seed=1)
    den = oracle_denoiser("edm", perturb=0.3)
    edm = EDMLoss(sigma_data=0.5)._weighted_error(den, x0, n, sigma, None)
    vp = VPredLoss(sigma_data=0.5).at_times(den, x0, n, vp_time(sigma / 0.5), None)
    fl = FlowLoss(sigma_data=0.5).at_times(den, x0, n, flow_time(sigma / 0.5), None)
    torch.testing.assert_close(vp, edm)
    torch.testing.assert_close(fl / edm, (0.5 + sigma) ** 2 / (0.25 + sigma**2))


@pytest.mark.parametrize("name", sorted(FORMULATIONS))
def test_validation_reports_edms_weighted_error_for_every_formulation(name):
    """at_sigmas is the same number for the same D, whatever the formulation's loss."""
    x0 = S * _randn(3, 2, 64, dtype=torch.float32)
    sigmas = (0.05, 0.5, 5.0)
    den = oracle_denoiser(name, 0.5, perturb=0.1)
    ref = EDMLoss(sigma_data=0.5).at_sigmas(den, x0, None, sigmas, torch.Generator().manual_seed(3))
    got = FORMULATIONS[name][1](sigma_data=0.5).at_sigmas(
        den, x0, None, sigmas, torch.Generator().manual_seed(3)
    )
    assert got.keys() == ref.keys()
    for s in sigmas:
        torch.testing.assert_close(got[s], ref[s])


class TinyNet(nn.Module):
    """pred = g(noise level) * x_in + h(noise level): an MLP scale and shift per example."""

    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(1, 32), nn.SiLU(), nn.Linear(32, 2))

    def forward(self, x, level, cond):
        g, h = self.mlp(level.float()[:, None]).unsqueeze(-1).unbind(1)
        return g * x + h


@pytest.mark.parametrize("name", ["vpred", "flow"])
def test_training_a_tiny_net_lowers_train_and_validation_loss(name, one_thread):
    cls, loss_cls, _, _ = FORMULATIONS[name]
    torch.manual_seed(0)
    net = TinyNet()
    with torch.no_grad():  # start clearly wrong: pred = -1.5 x_t (the oracle's scale is > 0)
        net.mlp[-1].bias.copy_(torch.tensor([-1.5, 0.0]))
    den, loss = cls(net), loss_cls(cond_dropout=0.0)
    opt = torch.optim.Adam(den.parameters(), lr=2e-2)
    x_val = S * torch.randn(64, 1, 32)

    def val():
        got = loss.at_sigmas(den, x_val, None, (0.05, 0.5, 5.0), torch.Generator().manual_seed(0))
        return sum(got.values()).item()

    before, history = val(), []
    for _ in range(40):
        value = loss(den, S * torch.randn(64, 1, 32))
        opt.zero_grad()
        value.backward()
        opt.step()
        history.append(value.item())
    assert sum(history[-10:]) < 0.7 * sum(history[:10]), history
    assert val() < 0.5 * before


def test_time_distributions():
    g = torch.Generator().manual_seed(0)
    u = UniformTime(0.2, 0.4)(10000, generator=g)
    assert u.shape == (10000,) and 0.2 <= u.min() and u.max() <= 0.4
    assert u.mean().item() == pytest.approx(0.3, abs=0.005)
    ln = LogitNormalTime(0.5, 1.0)(10000, generator=g)
    assert ((ln > 0) & (ln < 1)).all()
    logit = (ln / (1 - ln)).log()
    assert (logit.mean().item(), logit.std().item()) == pytest.approx((0.5, 1.0), abs=0.05)
    for bad in (lambda: UniformTime(0.5, 0.5), lambda: LogitNormalTime(0, 0)):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError, match="t_eps"):
        FlowLoss(t_eps=0.0)


def test_loss_clips_training_t_away_from_0_and_1():
    seen = []

    def spy(x, sigma, cond):
        seen.append(sigma)
        return x

    loss = FlowLoss(time_dist=lambda n, device=None: torch.tensor([0.0, 1.0]), t_eps=1e-3)
    assert torch.isfinite(loss(spy, torch.zeros(2, 1, 4)))
    want = torch.tensor([1e-3 / (1 - 1e-3), (1 - 1e-3) / 1e-3])
    torch.testing.assert_close(seen[0], want, rtol=1e-4, atol=0)


# --- every solver, every formulation ---------------------------------------------------------


@pytest.fixture(scope="module")
def edm_samples():
    return {name: _draw("edm", name) for name in SAMPLERS}


def _draw(formulation, sampler):
    sigma_data = 1.0 if formulation == "edm" else 0.5  # the oracle is exact for any sigma_data
    return sample(
        oracle_denoiser(formulation, sigma_data),
        (64, 1, 64),
        sampler=sampler,
        steps=48,
        generator=torch.Generator().manual_seed(0),
        seed=1,
    )


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
@pytest.mark.parametrize("formulation", ["vpred", "flow", "edm"])
def test_every_solver_samples_the_data_std_with_every_formulation(
    formulation, sampler, edm_samples
):
    x = _draw(formulation, sampler)
    assert x.std().item() == pytest.approx(S, rel=0.1), (formulation, sampler)  # Euler: -6%
    # the same D: the same samples (stochastic solvers draw the same seeded noise)
    torch.testing.assert_close(x, edm_samples[sampler], rtol=1e-3, atol=1e-3)


def test_euler_in_t_on_the_flow_ode_is_euler_in_sigma():
    """dx_t/dt = u(x_t, t) stepped in t gives exactly ``sample_euler``'s steps: no native
    flow solver is needed (DDIM is invariant to the path's scaling)."""
    den = oracle_denoiser("flow", sigma_data=0.5)
    sigmas = karras_sigmas(12, 0.002, 80.0, dtype=torch.float64)
    x = 80.0 * _randn(4, 1, 32)
    want = sample_euler(den, x.clone(), sigmas)
    ts = flow_time(sigmas / 0.5)
    x_t = x / (0.5 + sigmas[0])  # the scale 1 - t, on x0' = x0 / sd
    for t, t_next in zip(ts[:-1], ts[1:], strict=True):
        x_t = x_t + (t_next - t) * den.net(x_t, t.expand(4), None)
    torch.testing.assert_close(0.5 * x_t, want, rtol=1e-9, atol=1e-9)


# --- configs, training, loading --------------------------------------------------------------

CLASSES = {
    "edm": (Denoiser, EDMLoss),
    "vpred": (VDenoiser, VPredLoss),
    "flow": (FlowDenoiser, FlowLoss),
}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_train_composes_with_each_formulation(name):
    cfg = compose("train", [f"diffusion={name}", "experiment=smoke", "diffusion.sigma_data=0.5"])
    config = OmegaConf.to_container(cfg, resolve=True)
    representation = build_representation(config)
    den = build_denoiser(config, representation, LabelVocab({}))
    loss = instantiate(config["diffusion"]["loss"])
    assert type(den) is CLASSES[name][0] and type(loss) is CLASSES[name][1]
    assert den.sigma_data == loss.sigma_data == 0.5  # an experiment's sigma_data reaches both
    assert 0 < config["diffusion"]["sigma_min"] < config["diffusion"]["sigma_max"]


def test_a_config_without_a_denoiser_builds_edm_with_its_sigma_data():
    config = OmegaConf.to_container(compose("train", ["experiment=smoke"]), resolve=True)
    node = config["diffusion"].pop("denoiser")
    assert denoiser_config(config["diffusion"]) == node  # what edm.yaml resolves to
    config["diffusion"]["sigma_data"] = 0.25
    den = build_denoiser(config, build_representation(config), LabelVocab({}))
    assert type(den) is Denoiser and den.sigma_data == 0.25


def test_a_bad_denoiser_setting_is_one_config_error():
    cfg = compose("train", ["experiment=smoke", "diffusion=flow", "diffusion.sigma_data=0"])
    config = OmegaConf.to_container(cfg, resolve=True)
    with pytest.raises(ConfigError, match="diffusion.denoiser: sigma_data must be positive"):
        build_denoiser(config, build_representation(config), LabelVocab({}))


@pytest.fixture(scope="module")
def trained(synth_dir, tmp_path_factory):
    """Two steps of the smoke model with each new formulation: {name: run folder}."""
    from audiodiff.cli.main import main

    runs = {}
    for name in ("vpred", "flow"):
        tmp = tmp_path_factory.mktemp(name)
        args = [
            "train",
            "experiment=smoke",
            f"diffusion={name}",
            f"run_dir={tmp / 'run'}",
            f"data.root={synth_dir}",
            "data.synth=null",
            "data.num_workers=0",
            f"data.vocab_path={tmp / 'v.json'}",
            f"paths.cache_dir={tmp / 'cache'}",
            "callbacks.preview=null",
            "trainer.max_steps=2",
        ]
        assert main(args) == 0
        runs[name] = tmp / "run"
    return runs


@pytest.mark.parametrize("name", ["vpred", "flow"])
def test_two_steps_train_then_load_and_generate(name, trained, one_thread):
    run = trained[name]
    metrics = (run / "csv" / "metrics.csv").read_text().splitlines()
    assert "val/loss" in metrics[0] and "train/loss" in metrics[0]
    for path in (run / "model", run / "checkpoints" / "last.ckpt"):
        pipe = audiodiff.load(path, device="cpu")
        assert type(pipe.denoiser) is CLASSES[name][0]
        wav = pipe.generate(2, seconds=0.5, steps=2, seed=0)
        assert wav.shape == (2, 1, pipe.sample_rate // 2) and torch.isfinite(wav).all()


def test_an_old_config_without_the_key_loads_as_edm(smoke_run, tmp_path, one_thread):
    old = tmp_path / "old"
    shutil.copytree(smoke_run / "model", old)
    config = yaml.safe_load((old / "config.yaml").read_text())
    assert config["diffusion"]["denoiser"]["_target_"] == "audiodiff.diffusion.precond.Denoiser"
    del config["diffusion"]["denoiser"]
    (old / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    pipe_old, pipe_new = (
        audiodiff.load(old, device="cpu"),
        audiodiff.load(smoke_run / "model", device="cpu"),
    )
    assert type(pipe_old.denoiser) is Denoiser
    a = pipe_old.generate(1, seconds=0.5, steps=2, seed=0)
    assert torch.equal(a, pipe_new.generate(1, seconds=0.5, steps=2, seed=0))


def test_a_denoiser_target_outside_audiodiff_is_refused(smoke_run, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(smoke_run / "model", bad)
    config = yaml.safe_load((bad / "config.yaml").read_text())
    config["diffusion"]["denoiser"] = {"_target_": "os.system", "command": "echo hi"}
    (bad / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(UnsafeCheckpointError, match="os.system"):
        audiodiff.load(bad, device="cpu")
