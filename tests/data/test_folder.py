import logging

import pytest
import torch

from audiodiff.audio.io import save
from audiodiff.audio.mel import MelRepresentation
from audiodiff.data.folder import AudioFolder, check_readable, fit_length
from audiodiff.data.records import read_records
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import ConfigError

SR = 16000


def make_dataset(root, **kwargs) -> AudioFolder:
    records = read_records(root)
    vocab = LabelVocab.build(records, ["instrument", "pitch"])
    return AudioFolder(records, vocab, SR, segment_samples=SR, **kwargs)


def test_items_are_fixed_length_with_labels(synth_dir):
    ds = make_dataset(synth_dir)
    item = ds[0]
    assert item["wav"].shape == (1, SR)
    record = ds.records[0]
    assert ds.vocab.decode("instrument", int(item["cond"]["instrument"])) == record["instrument"]
    drums = [i for i, r in enumerate(ds.records) if r["instrument"] == "kick"]
    assert int(ds[drums[0]]["cond"]["pitch"]) == 0  # no pitch -> null id


def test_random_crop_varies_and_validation_crop_is_fixed(synth_dir):
    ds = make_dataset(synth_dir, random_crop=True)
    long = max(range(len(ds)), key=lambda i: float(ds.records[i]["duration"]))
    assert float(ds.records[long]["duration"]) > 1.05
    torch.manual_seed(0)
    crops = {tuple(ds[long]["wav"][0, :50].tolist()) for _ in range(8)}
    assert len(crops) > 1
    fixed = make_dataset(synth_dir, random_crop=False)
    assert torch.equal(fixed[long]["wav"], fixed[long]["wav"])


def test_short_clips_are_padded():
    x = torch.ones(1, 10)
    assert torch.equal(fit_length(x, 15, 0), torch.cat([x, torch.zeros(1, 5)], -1))
    assert fit_length(torch.arange(10.0)[None], 4, 3).tolist() == [[3, 4, 5, 6]]


def _levels(ds: AudioFolder) -> torch.Tensor:
    return torch.stack([10 * torch.log10(ds[i]["wav"].pow(2).mean()) for i in range(len(ds))])


def test_loudness_normalisation(synth_dir):
    raw = _levels(make_dataset(synth_dir, random_crop=False))
    levels = _levels(make_dataset(synth_dir, loudness_db=-20.0, random_crop=False))
    # the whole clip is set to -20 dB RMS, the 1 s crop is at or above it (one-shots decay),
    # except where the peak guard had to turn a spiky drum down
    assert (levels - (-20.0)).abs().median() < 1.5
    assert levels.std() < 0.5 * raw.std()


def test_unreadable_file_is_skipped_and_counted(tmp_path, caplog):
    for i in range(3):
        save(tmp_path / f"{i}.wav", torch.full((1, SR), 0.1), SR)
    records = read_records(tmp_path)
    ds = AudioFolder(records, LabelVocab({}), SR, SR)
    (tmp_path / "1.wav").write_bytes(b"RIFFgarbage")  # corrupted after the scan
    with caplog.at_level(logging.WARNING):
        items = [ds[i] for i in range(3)]
    assert len(items) == 3 and items[1]["index"] == 2  # replaced by the next clip
    assert list(ds.failures) == [str(tmp_path / "1.wav")]
    assert "skipping unreadable clip" in caplog.text


def test_check_readable_drops_bad_headers(tmp_path):
    save(tmp_path / "good.wav", torch.full((1, 100), 0.1), SR)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    kept, errors = check_readable(read_records(tmp_path))
    assert [r["path"].split("/")[-1] for r in kept] == ["good.wav"]
    assert len(errors) == 1 and "bad.wav" in errors[0]


def test_empty_dataset_is_an_error():
    with pytest.raises(ConfigError, match="empty"):
        AudioFolder([], LabelVocab({}), SR, SR)


def test_feature_mode_and_cache(synth_dir, tmp_path):
    rep = MelRepresentation()
    ds = make_dataset(
        synth_dir, representation=rep, cache_dir=tmp_path / "cache", random_crop=False
    )
    first = ds[0]["x"]
    assert first.shape == (80, SR // 256)
    assert ds.cache.misses == 1 and ds.cache.hits == 0
    assert torch.equal(ds[0]["x"], first) and ds.cache.hits == 1
    # the cached features equal a fresh encode
    wav = make_dataset(synth_dir, random_crop=False)[0]["wav"]
    fresh = rep.encode(wav[None])[0]
    assert torch.allclose(fresh[:, :-2], first[:, :-2], atol=1e-4)  # edge frames see the crop
    # another representation config uses another cache namespace
    ds2 = make_dataset(
        synth_dir, representation=MelRepresentation(n_mels=64), cache_dir=tmp_path / "cache"
    )
    assert ds2[0]["x"].shape[0] == 64 and ds2.cache.misses == 1
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_representation_rate_must_match(synth_dir):
    with pytest.raises(ConfigError, match="22050 Hz"):
        make_dataset(synth_dir, representation=MelRepresentation(sample_rate=22050))


def _long_and_short(ds: AudioFolder) -> tuple[int, int]:
    durations = [float(r["duration"]) for r in ds.records]
    return durations.index(max(durations)), durations.index(min(durations))


def test_timing_gives_the_crop_start_and_the_file_length(synth_dir):
    from audiodiff.audio.io import load

    ds = make_dataset(synth_dir, timing=True)
    ds.segment_samples = SR // 2  # room for crops that do not start at 0
    long, short = _long_and_short(ds)
    full = load(ds.records[long]["path"], sample_rate=SR)[0]
    starts = set()
    for seed in range(6):
        item = ds[(long, seed)]
        start = float(item["cond"]["seconds_start"])
        i = round(start * SR)
        assert item["cond"]["seconds_start"].dtype == torch.float32
        assert start == pytest.approx(i / SR, abs=1e-6)  # float32 seconds
        assert torch.equal(item["wav"], full[:, i : i + SR // 2])  # the crop begins there
        assert float(item["cond"]["seconds_total"]) == pytest.approx(full.shape[-1] / SR)
        starts.add(i)
    assert len(starts) > 1 and max(starts) > 0
    ds.segment_samples = 2 * SR  # longer than every clip: padded, seconds_total stays real
    item = ds[(short, 0)]
    assert float(item["cond"]["seconds_start"]) == 0 and item["wav"].shape[-1] == 2 * SR
    real = float(ds.records[short]["duration"])
    assert float(item["cond"]["seconds_total"]) == pytest.approx(real, abs=2 / SR)
    assert "seconds_start" not in make_dataset(synth_dir)[0]["cond"]  # off by default


def test_timing_of_validation_and_feature_crops(synth_dir, tmp_path):
    val = make_dataset(synth_dir, timing=True, random_crop=False)
    long, _ = _long_and_short(val)
    assert float(val[long]["cond"]["seconds_start"]) == 0.0
    rep = MelRepresentation()
    feats = make_dataset(synth_dir, timing=True, representation=rep, cache_dir=tmp_path / "c")
    feats.segment_samples = SR // 2
    frames = rep.num_frames(SR // 2)
    whole = feats._features(feats.records[long]["path"])
    starts = set()
    for seed in range(6):
        item = feats[(long, seed)]
        f = float(item["cond"]["seconds_start"]) * rep.frame_rate
        assert f == pytest.approx(round(f), abs=1e-4) and torch.equal(
            item["x"], whole[:, round(f) : round(f) + frames]
        )
        starts.add(round(f))
    assert max(starts) > 0
    cached = make_dataset(synth_dir, timing=True, representation=rep, cache_dir=tmp_path / "c")
    total = float(cached[long]["cond"]["seconds_total"])  # from the cache: the header's length
    assert total == pytest.approx(float(feats.records[long]["duration"]), abs=2 / SR)
