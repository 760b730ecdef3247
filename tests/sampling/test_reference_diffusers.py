"""Our solvers against Hugging Face diffusers' schedulers, driven step by step with one model.

Mapping: our state is x = x0 + sigma eps (VE / EDM). The VP schedulers (UniPC, DPM-Solver,
use_karras_sigmas=True) keep sigma as the VE noise level and the sample as x / sqrt(1 +
sigma^2); with ``prediction_type="sample"`` the model returns D(x, sigma) directly. Euler
(discrete) keeps the VE sample and gets eps = (x - D) / sigma. The EDM schedulers keep the VE
sample and get F with D = c_skip x + c_out F, inverted through their own
``precondition_outputs``. Our solver gets exactly the scheduler's ``sigmas`` after
``set_timesteps`` (they end in 0, ``final_sigmas_type="zero"``); float32 sigmas are cast to
float64 on both sides where the scheduler allows, so what remains is diffusers' own float32
arithmetic (~1e-7).

Not asserted here (they do not agree, see the report in the test docstrings):
UniPC order 3 over the full run (diffusers lowers the order of the last two steps,
``lower_order_final``; ours does not: only the states before those steps are compared), and
DPM-Solver++ order 3 vs our ``sample_dpmpp_3m`` (diffusers weights x0'' by half, as
k-diffusion does; rel. diff 7e-3 at 30 steps).
"""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from audiodiff.sampling import solvers as so

diffusers = pytest.importorskip(
    "diffusers", reason="diffusers not installed (pip install -c constraints.txt diffusers)"
)
diffusers.utils.logging.set_verbosity_error()

STEPS, TOL = 12, 1e-4
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:diffusers.*")


def _helpers():
    # pytest runs with --import-mode=importlib (no sys.path entry for this folder)
    name = "_audiodiff_tests_reference_helpers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("reference_helpers.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


H = _helpers()


def _prepare(scheduler, steps: int) -> torch.Tensor:
    """set_timesteps, cast the scheduler's sigmas to float64; returns them ([steps + 1])."""
    scheduler.set_timesteps(steps)
    scheduler.sigmas = scheduler.sigmas.to(torch.float64)
    sigmas = scheduler.sigmas
    assert len(sigmas) == steps + 1 and sigmas[-1] == 0
    return sigmas


def _run_vp(scheduler, den, steps: int):
    """Drive a VP scheduler (prediction_type="sample"); returns (x0 states in VE units, sigmas,
    starting VE noise): states[m] is the state after step m, at sigmas[m + 1]."""
    sigmas = _prepare(scheduler, steps)
    x_ve = H.start_noise(sigmas[0].item())
    sample = x_ve / (1 + sigmas[0] ** 2).sqrt()
    states = []
    for i, t in enumerate(scheduler.timesteps):
        sigma = sigmas[i]
        inp = scheduler.scale_model_input(sample, t)  # identity for these schedulers
        d = den(inp * (1 + sigma**2).sqrt(), sigma.expand(sample.shape[0]))
        sample = scheduler.step(d, t, sample).prev_sample
        states.append(sample * (1 + sigmas[i + 1] ** 2).sqrt())
    return states, sigmas, x_ve


@pytest.mark.parametrize("order", [1, 2])
def test_unipc_bh2_matches_diffusers(order):
    den = H.NonlinearDenoiser()
    sch = diffusers.UniPCMultistepScheduler(
        solver_order=order,
        solver_type="bh2",
        predict_x0=True,
        prediction_type="sample",
        use_karras_sigmas=True,
    )
    states, sigmas, x = _run_vp(sch, den, STEPS)
    ours = so.sample_unipc(den, x, sigmas, order=order)
    assert H.rel_diff(ours, states[-1]) < TOL


def test_unipc_bh2_order3_matches_diffusers_before_lower_order_final():
    """diffusers' ``lower_order_final`` drops to order 2 and 1 on the last two steps; ours keeps
    order 3 (rel. diff of the final sample 0.18 at 10 steps, 7e-3 at 30). Every state before
    those steps is compared: our solver on sigmas[: m + 2] ends on the predictor, as the
    scheduler's m-th ``prev_sample`` does (its corrector runs at the next call)."""
    den = H.NonlinearDenoiser()
    sch = diffusers.UniPCMultistepScheduler(
        solver_order=3,
        solver_type="bh2",
        predict_x0=True,
        prediction_type="sample",
        use_karras_sigmas=True,
    )
    states, sigmas, x = _run_vp(sch, den, STEPS)
    for m in range(STEPS - 2):
        ours = so.sample_unipc(den, x, sigmas[: m + 2], order=3)
        assert H.rel_diff(ours, states[m]) < TOL, m


def test_dpmsolver_pp_2m_matches_diffusers():
    den = H.NonlinearDenoiser()
    sch = diffusers.DPMSolverMultistepScheduler(
        solver_order=2,
        algorithm_type="dpmsolver++",
        prediction_type="sample",
        use_karras_sigmas=True,
    )
    states, sigmas, x = _run_vp(sch, den, STEPS)
    assert H.rel_diff(so.sample_dpmpp_2m(den, x, sigmas), states[-1]) < TOL


def test_euler_discrete_matches_diffusers():
    den = H.NonlinearDenoiser()
    sch = diffusers.EulerDiscreteScheduler(use_karras_sigmas=True, prediction_type="epsilon")
    sigmas = _prepare(sch, STEPS)
    x = H.start_noise(sigmas[0].item())
    sample = x
    for i, t in enumerate(sch.timesteps):
        sigma = sigmas[i]
        inp = sch.scale_model_input(sample, t)  # sample / sqrt(sigma^2 + 1)
        x_ve = inp * (sigma**2 + 1).sqrt()
        eps = (x_ve - den(x_ve, sigma.expand(x.shape[0]))) / sigma
        sample = sch.step(eps, t, sample).prev_sample
    assert H.rel_diff(so.sample_euler(den, x, sigmas), sample) < TOL


def _run_edm(scheduler, den, steps: int):
    sigmas = _prepare(scheduler, steps)
    x = H.start_noise(sigmas[0].item())
    sample = x
    for i, t in enumerate(scheduler.timesteps):
        sigma = sigmas[i]
        scheduler.scale_model_input(sample, t)  # c_in x; our model takes the VE sample itself
        d = den(sample, sigma.expand(x.shape[0]))
        zero = scheduler.precondition_outputs(sample, torch.zeros_like(sample), sigma)
        one = scheduler.precondition_outputs(sample, torch.ones_like(sample), sigma)
        sample = scheduler.step((d - zero) / (one - zero), t, sample).prev_sample  # F
    return sample, sigmas, x


def test_edm_euler_matches_diffusers():
    den = H.NonlinearDenoiser()
    sch = diffusers.EDMEulerScheduler(sigma_min=0.002, sigma_max=80.0, sigma_data=0.5)
    theirs, sigmas, x = _run_edm(sch, den, STEPS)
    assert H.rel_diff(so.sample_euler(den, x, sigmas), theirs) < TOL


def test_edm_dpmsolver_pp_2m_matches_diffusers():
    den = H.NonlinearDenoiser()
    sch = diffusers.EDMDPMSolverMultistepScheduler(
        sigma_min=0.002,
        sigma_max=80.0,
        sigma_data=0.5,
        solver_order=2,
        algorithm_type="dpmsolver++",
    )
    theirs, sigmas, x = _run_edm(sch, den, STEPS)
    assert H.rel_diff(so.sample_dpmpp_2m(den, x, sigmas), theirs) < TOL
