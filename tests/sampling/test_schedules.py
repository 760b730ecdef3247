"""Step schedules: length, endpoints, a final 0, strictly descending, and their defining law."""

import math

import pytest
import torch

from audiodiff.sampling import SCHEDULES
from audiodiff.sampling.schedules import (
    exponential_sigmas,
    karras_sigmas,
    polyexponential_sigmas,
    uniform_logsnr_sigmas,
    vp_sigmas,
)

LO, HI = 0.002, 80.0


def test_registry_names():
    assert SCHEDULES == {
        "karras": karras_sigmas,
        "exponential": exponential_sigmas,
        "polyexponential": polyexponential_sigmas,
        "vp": vp_sigmas,
        "logsnr": uniform_logsnr_sigmas,
    }


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n", [1, 2, 7, 50])
def test_length_endpoints_last_zero_descending(name, n):
    # every schedule takes the same arguments, rho included (generation.sample passes them all)
    s = SCHEDULES[name](n, sigma_min=LO, sigma_max=HI, rho=7.0, dtype=torch.float64)
    assert s.shape == (n + 1,) and s.dtype == torch.float64 and s[-1] == 0
    assert s[0].item() == pytest.approx(HI, rel=1e-12)
    if n > 1:
        assert s[-2].item() == pytest.approx(LO, rel=1e-9)
    assert (s[:-1] > s[1:]).all()


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_dtype_device_and_bad_arguments(name):
    s = SCHEDULES[name](4, sigma_min=0.1, sigma_max=10.0, rho=7.0, device="cpu")
    assert s.dtype == torch.float32 and s.device.type == "cpu"
    with pytest.raises(ValueError):
        SCHEDULES[name](0, sigma_min=LO, sigma_max=HI)
    with pytest.raises(ValueError):
        SCHEDULES[name](4, sigma_min=HI, sigma_max=LO)


def test_exponential_is_uniform_in_log_sigma():
    steps = exponential_sigmas(9, LO, HI, dtype=torch.float64)[:-1].log().diff()
    torch.testing.assert_close(steps, torch.full_like(steps, math.log(LO / HI) / 8))


def test_logsnr_is_exponential_and_uniform_in_log_snr():
    s = uniform_logsnr_sigmas(9, LO, HI, dtype=torch.float64)
    torch.testing.assert_close(s, exponential_sigmas(9, LO, HI, dtype=torch.float64))
    log_snr = -2 * s[:-1].log()  # EDM: SNR = 1 / sigma^2
    torch.testing.assert_close(log_snr.diff(), torch.full((8,), log_snr[1] - log_snr[0]).double())


def test_polyexponential():
    # rho = 1 is the exponential schedule; larger rho crowds the steps towards sigma_min
    s1 = polyexponential_sigmas(9, LO, HI, rho=1.0, dtype=torch.float64)
    torch.testing.assert_close(s1, exponential_sigmas(9, LO, HI, dtype=torch.float64))
    s3 = polyexponential_sigmas(9, LO, HI, rho=3.0, dtype=torch.float64)
    mid = math.exp(math.log(LO) + 0.5**3 * (math.log(HI) - math.log(LO)))  # i = 4 of 8
    assert s3[4].item() == pytest.approx(mid, rel=1e-12)
    assert (s3[1:-2] < s1[1:-2]).all()  # interior points; both end at sigma_min, 0


def test_vp_is_uniform_in_t():
    beta_d, beta_min = (
        19.9,
        0.1,
    )  # Song et al. 2021: sigma(t)^2 = exp(beta_d t^2 / 2 + beta_min t) - 1
    s = vp_sigmas(6, 0.01, 20.0, dtype=torch.float64)[:-1]
    t = ((beta_min**2 + 2 * beta_d * torch.log1p(s**2)).sqrt() - beta_min) / beta_d
    torch.testing.assert_close(t.diff(), torch.full_like(t.diff(), (t[-1] - t[0]).item() / 5))
    # without bounds it runs from sigma(1) to sigma(eps_s = 1e-3)
    d = vp_sigmas(3, dtype=torch.float64)
    assert d[0].item() == pytest.approx(math.sqrt(math.expm1(beta_d / 2 + beta_min)))
    assert d[-2].item() == pytest.approx(math.sqrt(math.expm1(beta_d * 1e-6 / 2 + beta_min * 1e-3)))
