"""The label classifier and the "label accuracy" it adds to ``evaluate_unpaired``."""

import csv
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from audiodiff.audio.io import resample
from audiodiff.cli.main import main
from audiodiff.errors import ConfigError
from audiodiff.metrics import evaluate_unpaired
from audiodiff.metrics.classifier import LabelClassifier, train_label_classifier

SR = 16000


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _sine_set(root, seed: int, n: int = 12):
    """n clips of 0.6-1.4 s, half a low sine (150-250 Hz), half a high one (1.5-2.5 kHz)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        band = "low" if i % 2 == 0 else "high"
        f0 = rng.uniform(150, 250) if band == "low" else rng.uniform(1500, 2500)
        t = np.arange(int(rng.uniform(0.6, 1.4) * SR)) / SR
        amp = rng.uniform(0.1, 0.5)
        path = root / f"{i:02d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (amp * np.sin(2 * np.pi * f0 * t)).astype(np.float32), SR)
        rows.append([path.name, band])
    with open(root / "metadata.csv", "w", newline="") as f:
        csv.writer(f).writerows([["path", "band"], *rows])
    return root


def _wavs(folder):
    with open(folder / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    wavs = [sf.read(folder / r["path"], dtype="float32")[0][:SR] for r in rows]
    n = min(len(w) for w in wavs)
    return torch.from_numpy(np.stack([w[:n] for w in wavs]))[:, None], rows  # [B, 1, N]


def test_synth_round_trip(synth_dir, tmp_path):
    out = tmp_path / "clf"
    info = train_label_classifier(synth_dir, "instrument", out, steps=30, batch_size=16)
    assert (out / "classifier.safetensors").is_file()
    saved = json.loads((out / "classifier.json").read_text())
    assert saved["label"] == "instrument" and len(saved["classes"]) == 8
    assert saved["mel"]["n_mels"] == 80 and 50_000 <= saved["n_parameters"] <= 200_000
    assert saved["accuracy"]["train"] == info["accuracy"]["train"]
    clf = LabelClassifier.load(out)
    wav, _ = _wavs(synth_dir)  # [24, 1, N]
    first = clf.predict(wav, SR)
    assert len(first) == 24 and set(first) <= set(clf.classes)
    assert LabelClassifier.load(out).predict(wav, SR) == first
    # another sample rate is resampled to the classifier's
    wav32 = torch.stack([resample(w, SR, 32000) for w in wav])  # [24, 1, 2N]
    assert clf.predict(wav32, 32000) == first  # logits agree to ~0.05 (filter edges)


def test_separable_classes_reach_full_heldout_accuracy(tmp_path):
    train = _sine_set(tmp_path / "train", seed=0)
    heldout = _sine_set(tmp_path / "heldout", seed=1, n=10)
    info = train_label_classifier(train, "band", tmp_path / "clf", heldout=heldout, steps=40)
    assert info["classes"] == ["high", "low"]
    assert info["accuracy"]["heldout"] == 1.0 and info["accuracy"]["n_heldout"] == 10
    clf = LabelClassifier.load(tmp_path / "clf")
    wav, rows = _wavs(heldout)
    assert clf.predict(wav, SR) == [r["band"] for r in rows]


def test_evaluate_reports_label_accuracy(tmp_path):
    train = _sine_set(tmp_path / "train", seed=0)
    train_label_classifier(train, "band", tmp_path / "clf", steps=40)
    gen = _sine_set(tmp_path / "gen", seed=2, n=8)
    kwargs = {"pitch": False, "progress": False, "classifier": tmp_path / "clf"}
    result = evaluate_unpaired(gen, train, **kwargs)
    la = result["label_accuracy"]
    assert la["label"] == "band" and la["n_files"] == 8 and la["accuracy"] == 1.0
    assert la["per_value"] == {"high": {"n": 4, "accuracy": 1.0}, "low": {"n": 4, "accuracy": 1.0}}
    assert "label_accuracy" not in evaluate_unpaired(gen, train, pitch=False, progress=False)

    # swap every second pair of labels, blank one, name one value the classifier lacks
    meta = gen / "metadata.csv"
    rows = list(csv.reader(meta.open(newline="")))
    rows[1][1], rows[2][1] = rows[2][1], rows[1][1]
    rows[5][1], rows[6][1] = rows[6][1], rows[5][1]
    rows[3][1], rows[4][1] = "", "middle"
    with open(meta, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    la = evaluate_unpaired(gen, train, **kwargs)["label_accuracy"]
    assert la["n_files"] == 6 and la["accuracy"] == pytest.approx(2 / 6)
    assert {r["path"] for r in la["per_file"]} == {f"{i:02d}.wav" for i in (0, 1, 3, 4, 5, 6, 7)}


def test_one_line_errors(tmp_path, synth_dir):
    train = _sine_set(tmp_path / "train", seed=0, n=4)
    with pytest.raises(ConfigError, match="no 'instrument' column") as e:
        train_label_classifier(train, "instrument", tmp_path / "clf", steps=1)
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="does not exist"):
        LabelClassifier.load(tmp_path / "nope")
    with pytest.raises(ConfigError, match="does not exist"):
        evaluate_unpaired(train, train, pitch=False, progress=False, classifier=tmp_path / "no")
    train_label_classifier(train, "band", tmp_path / "clf", steps=1)
    gen = tmp_path / "gen"
    shutil.copytree(synth_dir, gen)
    with pytest.raises(ConfigError, match="no 'band' column"):
        evaluate_unpaired(gen, train, pitch=False, progress=False, classifier=tmp_path / "clf")
    (tmp_path / "clf" / "classifier.json").write_text("{}")
    with pytest.raises(ConfigError, match="not an audiodiff label classifier"):
        LabelClassifier.load(tmp_path / "clf")


def test_cli_evaluate_with_classifier(tmp_path, capsys):
    train = _sine_set(tmp_path / "train", seed=0)
    train_label_classifier(train, "band", tmp_path / "clf", steps=40)
    gen = _sine_set(tmp_path / "gen", seed=2, n=6)
    args = ["evaluate", f"generated={gen}", f"reference={train}", f"classifier={tmp_path / 'clf'}"]
    assert main([*args, "pitch=false", f"out={tmp_path / 'r.json'}"]) == 0
    assert "label accuracy (band, n=6)" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["label_accuracy"]["accuracy"] == 1.0
    assert main([*args, "paired=true"]) == 2
    err = capsys.readouterr().err
    assert "unpaired evaluation only" in err and err.count("\n") == 1
