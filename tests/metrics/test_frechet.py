"""Fréchet distance and clip features."""

import numpy as np
import pytest

from audiodiff.metrics.frechet import (
    FEATURE_DIM,
    clip_features,
    frechet_distance,
    frechet_floor,
    standardize,
)

SR = 16000


def _tone(f0: float, sr: int = SR, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return sum(0.3 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def feature_sets():
    rng = np.random.default_rng(0)
    tones = np.stack([clip_features(_tone(f), SR) for f in np.linspace(300, 600, 12)])
    noise = [0.1 * rng.standard_normal(SR // 2).astype(np.float32) for _ in range(12)]
    noise = np.stack([clip_features(x, SR) for x in noise])
    return tones, noise  # [12, D] each


def _exact_gaussian(rng, n: int, mean: np.ndarray, cov_sqrt: np.ndarray) -> np.ndarray:
    """n samples whose sample mean and (ddof=1) covariance are exactly mean and cov_sqrt^2."""
    z = rng.standard_normal((n, len(mean)))
    z -= z.mean(0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # sample cov = I
    return mean + z @ cov_sqrt.T


def test_clip_features_shape_finite_and_rate_independent():
    feats = clip_features(_tone(440.0), SR)
    assert feats.shape == (FEATURE_DIM,) == (54,)
    assert np.isfinite(feats).all()
    assert np.isfinite(clip_features(np.zeros(SR // 4, dtype=np.float32), SR)).all()
    at_44k = clip_features(_tone(440.0, sr=44100), 44100)
    mfcc_means = slice(0, 20)
    assert np.allclose(at_44k[mfcc_means], feats[mfcc_means], rtol=0.05, atol=1.0)
    assert not np.allclose(clip_features(_tone(880.0), SR)[mfcc_means], feats[mfcc_means], atol=1.0)


def test_fd_of_set_with_itself_is_zero_and_noise_is_far(feature_sets):
    tones, noise = feature_sets
    far = frechet_distance(tones, noise)
    assert frechet_distance(tones, tones) < 1e-6 * far
    assert far > 10 * frechet_floor(tones)


def test_fd_symmetric(feature_sets):
    tones, noise = feature_sets
    assert frechet_distance(noise, tones) == pytest.approx(frechet_distance(tones, noise), rel=1e-6)
    assert frechet_distance(noise[:6], tones[3:]) == pytest.approx(
        frechet_distance(tones[3:], noise[:6]), rel=1e-6
    )


def test_fd_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(1)
    mu_a, mu_b = rng.normal(size=6), rng.normal(size=6)
    var_a, var_b = rng.uniform(0.1, 4, 6), rng.uniform(0.1, 4, 6)
    a = _exact_gaussian(rng, 200, mu_a, np.diag(np.sqrt(var_a)))
    b = _exact_gaussian(rng, 150, mu_b, np.diag(np.sqrt(var_b)))
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_fd_matches_closed_form_for_commuting_full_covariances():
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))  # shared eigenvectors
    var_a, var_b = rng.uniform(0.5, 3, 5), rng.uniform(0.5, 3, 5)
    a = _exact_gaussian(rng, 100, np.zeros(5), q @ np.diag(np.sqrt(var_a)) @ q.T)
    b = _exact_gaussian(rng, 100, np.ones(5), q @ np.diag(np.sqrt(var_b)) @ q.T)
    expected = 5.0 + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_fd_safe_when_fewer_clips_than_dimensions():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 54)) * rng.uniform(0.1, 30, 54)  # n < D: singular covariance
    shift = rng.normal(size=54)
    fd = frechet_distance(x, x + shift)  # same covariance, so FD = ||shift||^2
    assert fd == pytest.approx(float(shift @ shift), rel=1e-6)
    assert frechet_distance(x, x) < 1e-6 * fd


def test_floor_uses_even_odd_split():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(6, 3))
    b = rng.normal(size=(6, 3)) + 10.0
    ordered = np.concatenate([a, b])  # first half A, second half B
    assert frechet_floor(ordered) == pytest.approx(frechet_distance(ordered[0::2], ordered[1::2]))
    assert frechet_floor(ordered) < 0.1 * frechet_distance(ordered[:6], ordered[6:])


def test_fd_rejects_bad_shapes():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((5, 4)), np.zeros((5, 3)))


def test_standardize_puts_features_on_one_scale():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 3)), rng.normal(0.5, 1.0, size=(50, 3))
    scaled_a, scaled_b = a * [1000.0, 1.0, 1.0], b * [1000.0, 1.0, 1.0]
    # raw FD is dominated by the scaled feature; standardised FD does not care about units
    assert frechet_distance(scaled_a, scaled_b) > 100 * frechet_distance(a, b)
    fd_std = frechet_distance(standardize(scaled_a, scaled_b), standardize(scaled_b, scaled_b))
    fd_ref = frechet_distance(standardize(a, b), standardize(b, b))
    assert fd_std == pytest.approx(fd_ref, rel=1e-9)
    assert np.allclose(standardize(b, b).std(axis=0), 1.0)
