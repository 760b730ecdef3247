"""A small label classifier over normalised log-mels: the "label accuracy" metric.

``train_label_classifier`` fits a 1-D CNN (mel bins as channels, pooled over time) to one
label column of a labelled folder (``metadata.csv`` with ``path`` and e.g. ``instrument``)
on random 1 s crops, and writes into ``out_dir``::

    classifier.safetensors   the weights
    classifier.json          label, class values, mel and net settings, measured accuracy

``LabelClassifier.load(out_dir).predict(wav, sample_rate)`` names the label of each clip;
``audiodiff evaluate ... classifier=DIR`` compares it with the generated clips' metadata.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from audiodiff.audio.io import load, resample
from audiodiff.audio.mel import MelRepresentation
from audiodiff.data.records import read_records
from audiodiff.errors import ConfigError
from audiodiff.fileio import write_text
from audiodiff.safe_load import read_safetensors

WEIGHTS = "classifier.safetensors"
CONFIG = "classifier.json"
FORMAT = "audiodiff-label-classifier/1"


@dataclass
class NetConfig:
    """Widths of ``LabelNet``; the defaults give ~0.1 M parameters for 8 classes."""

    n_mels: int = 80
    n_classes: int = 8
    width: int = 64
    kernel: int = 5


class LabelNet(nn.Module):
    """Three 1-D convolutions over time, mean+max pooling over time, a linear head."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        w, k = cfg.width, cfg.kernel
        self.convs = nn.Sequential(
            nn.Conv1d(cfg.n_mels, w, k, padding=k // 2),
            nn.GroupNorm(8, w),
            nn.GELU(),
            nn.Conv1d(w, w, k, stride=2, padding=k // 2),
            nn.GroupNorm(8, w),
            nn.GELU(),
            nn.Conv1d(w, 2 * w, 3, padding=1),
            nn.GroupNorm(8, 2 * w),
            nn.GELU(),
        )
        self.head = nn.Linear(4 * w, cfg.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, n_mels, T] normalised log-mel -> logits [B, n_classes]"""
        h = self.convs(x)  # [B, 2w, T / 2]
        return self.head(torch.cat([h.mean(-1), h.amax(-1)], dim=1))  # [B, n_classes]


def _mel_frames(mel: MelRepresentation, wav: torch.Tensor) -> torch.Tensor:
    """wav: [1, N] -> x: [n_mels, T]; clips shorter than one FFT frame are zero-padded."""
    wav = F.pad(wav, (0, max(0, mel.n_fft - wav.shape[-1])))
    return mel.encode(wav[None])[0]


class LabelClassifier:
    """A trained ``LabelNet`` with its label name, class values and mel settings."""

    def __init__(
        self, net: LabelNet, mel: MelRepresentation, label: str, classes: list[str], info: dict
    ) -> None:
        self.net = net.eval()
        self.mel = mel
        self.label = label
        self.classes = classes
        self.info = info  # the whole classifier.json

    @classmethod
    def load(cls, folder: str | Path) -> LabelClassifier:
        """From a folder written by ``train_label_classifier``; one ConfigError line if not."""
        folder = Path(folder)
        if not (folder / CONFIG).is_file():
            what = "does not exist" if not folder.exists() else f"has no {CONFIG}"
            raise ConfigError(f"classifier folder {folder} {what}")
        try:
            info = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
            if info.get("format") != FORMAT:
                raise ValueError(info.get("format"))
            net_cfg = NetConfig(**info["net"])
            mel = MelRepresentation(**info["mel"])
            label, classes = str(info["label"]), [str(c) for c in info["classes"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ConfigError(f"{folder / CONFIG}: not an audiodiff label classifier") from None
        state, _ = read_safetensors(folder / WEIGHTS)
        net = LabelNet(net_cfg)
        try:
            net.load_state_dict(state)
        except RuntimeError:
            raise ConfigError(f"{folder / WEIGHTS}: weights do not match {CONFIG}") from None
        return cls(net, mel, label, classes, info)

    @torch.no_grad()
    def logits(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """wav: [B, 1, N] at sample_rate -> logits [B, n_classes] (whole clip pooled)."""
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise ValueError(f"expected wav of shape [B, 1, N], got {tuple(wav.shape)}")
        if sample_rate != self.mel.sample_rate:
            wav = torch.stack([resample(w, sample_rate, self.mel.sample_rate) for w in wav])
        x = torch.stack([_mel_frames(self.mel, w) for w in wav.float()])  # [B, M, T]
        return self.net(x)

    def predict(self, wav: torch.Tensor, sample_rate: int) -> list[str]:
        """wav: [B, 1, N] at sample_rate -> the predicted label value of each clip."""
        return [self.classes[i] for i in self.logits(wav, sample_rate).argmax(-1).tolist()]


def _labelled_clips(
    folder: str | Path, label: str, mel: MelRepresentation
) -> tuple[list[torch.Tensor], list[str]]:
    """Normalised log-mels [n_mels, T] of every clip with a value in ``label``, and the values."""
    records = read_records(folder)
    if not any(label in r for r in records):
        columns = sorted({k for r in records for k in r} - {"path"})
        raise ConfigError(
            f"{folder}: no '{label}' column in its metadata (columns: {', '.join(columns)})"
        )
    mels, values = [], []
    for record in records:
        value = record.get(label, "").strip()
        if value:
            wav, _ = load(record["path"], sample_rate=mel.sample_rate)  # [1, N]
            mels.append(_mel_frames(mel, wav))
            values.append(value)
    if not values:
        raise ConfigError(f"{folder}: no clip has a '{label}' value")
    return mels, values


def _crop_batch(
    mels: list[torch.Tensor], idx: list[int], frames: int, gen: torch.Generator, floor: float
) -> torch.Tensor:
    """Random ``frames``-long crops (shorter clips padded with the floor) -> [B, M, frames]."""
    out = []
    for i in idx:
        x = mels[i]
        start = int(torch.randint(0, max(1, x.shape[-1] - frames + 1), (1,), generator=gen))
        x = x[:, start : start + frames]
        out.append(F.pad(x, (0, frames - x.shape[-1]), value=floor))
    return torch.stack(out)


@torch.no_grad()
def _accuracy(
    net: LabelNet, mels: list[torch.Tensor], targets: list[int], n_classes: int
) -> tuple[float, list[list[int]]]:
    """Whole-clip accuracy and the confusion matrix [true][predicted]."""
    net.eval()
    confusion = [[0] * n_classes for _ in range(n_classes)]
    for x, t in zip(mels, targets, strict=True):
        confusion[t][int(net(x[None]).argmax())] += 1
    net.train()
    return sum(confusion[i][i] for i in range(n_classes)) / max(1, len(targets)), confusion


def train_label_classifier(
    folder: str | Path,
    label: str = "instrument",
    out_dir: str | Path | None = None,
    heldout: str | Path | None = None,
    steps: int = 300,
    batch_size: int = 32,
    lr: float = 3e-3,
    crop_seconds: float = 1.0,
    seed: int = 0,
    net: NetConfig | None = None,
) -> dict[str, Any]:
    """Train on ``folder``'s ``label`` column; write the classifier into ``out_dir`` if given.

    Returns classifier.json's content: ``accuracy`` holds ``train`` and (with ``heldout``, a
    folder labelled the same way) ``heldout`` whole-clip accuracy, and their confusion
    matrices. Held-out values the training set lacks count as misses.
    """
    if steps < 1 or batch_size < 1:
        raise ConfigError(f"steps and batch_size must be >= 1, got {steps}, {batch_size}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    mel = MelRepresentation()
    t0 = time.perf_counter()
    mels, values = _labelled_clips(folder, label, mel)
    classes = sorted(set(values))
    index = {c: i for i, c in enumerate(classes)}
    targets = [index[v] for v in values]
    cfg = net or NetConfig(n_mels=mel.n_mels, n_classes=len(classes))
    model = LabelNet(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    frames = round(crop_seconds * mel.sample_rate / mel.hop_length)
    floor = (torch.log(torch.tensor(mel.log_floor)).item() - mel.mean) / mel.std
    y_all = torch.tensor(targets)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(mels), (batch_size,), generator=gen).tolist()
        x = _crop_batch(mels, idx, frames, gen, floor)  # [B, M, frames]
        # gain augmentation: +-6 dB is a shift of the log-mel (above the floor)
        gain = (torch.rand(batch_size, 1, 1, generator=gen) - 0.5) * 2 * 0.69 / mel.std
        x = torch.maximum(x + gain, torch.full_like(x, floor))
        loss = F.cross_entropy(model(x), y_all[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    train_seconds = time.perf_counter() - t0
    train_acc, train_conf = _accuracy(model, mels, targets, len(classes))
    accuracy: dict[str, Any] = {"train": train_acc, "train_confusion": train_conf}
    if heldout is not None:
        h_mels, h_values = _labelled_clips(heldout, label, mel)
        known = [(x, index[v]) for x, v in zip(h_mels, h_values, strict=True) if v in index]
        acc, conf = _accuracy(model, [x for x, _ in known], [t for _, t in known], len(classes))
        accuracy |= {
            "heldout": acc * len(known) / len(h_values),
            "heldout_confusion": conf,
            "n_heldout": len(h_values),
            "n_heldout_unknown_value": len(h_values) - len(known),
        }
    info = {
        "format": FORMAT,
        "label": label,
        "classes": classes,
        "mel": mel.config(),
        "net": asdict(cfg),
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "train": {
            "folder": str(folder),
            "heldout": None if heldout is None else str(heldout),
            "n_clips": len(values),
            "steps": steps,
            "batch_size": batch_size,
            "lr": lr,
            "crop_seconds": crop_seconds,
            "seed": seed,
            "seconds": round(train_seconds, 1),
        },
        "accuracy": accuracy,
    }
    if out_dir is not None:
        from safetensors.torch import save_file

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out / WEIGHTS)
        write_text(out / CONFIG, json.dumps(info, indent=2) + "\n")
    return info
