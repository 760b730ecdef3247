"""Audio quality metrics: paired (SI-SDR, LSD, MR-STFT, PESQ, STOI), pitch, Fréchet distance,
label accuracy (a small trained label classifier)."""

from audiodiff.metrics.classifier import LabelClassifier, train_label_classifier
from audiodiff.metrics.evaluate import (
    evaluate_paired,
    evaluate_unpaired,
    format_table,
    write_json,
)
from audiodiff.metrics.frechet import (
    clip_features,
    frechet_distance,
    frechet_floor,
    standardize,
)
from audiodiff.metrics.paired import (
    log_spectral_distance,
    multi_resolution_stft_distance,
    optional_metrics_available,
    pesq_score,
    si_sdr,
    spectral_convergence,
    stoi_score,
)
from audiodiff.metrics.pitch import cents, midi_to_hz, pitch_stats

__all__ = [
    "cents",
    "clip_features",
    "evaluate_paired",
    "evaluate_unpaired",
    "format_table",
    "frechet_distance",
    "frechet_floor",
    "LabelClassifier",
    "standardize",
    "log_spectral_distance",
    "midi_to_hz",
    "multi_resolution_stft_distance",
    "optional_metrics_available",
    "pesq_score",
    "pitch_stats",
    "si_sdr",
    "spectral_convergence",
    "stoi_score",
    "train_label_classifier",
    "write_json",
]
