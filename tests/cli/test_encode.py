"""`audiodiff data encode` fills the cache that training reads, once."""

import numpy as np
import soundfile as sf

from audiodiff.cli.main import main


def test_encode_fills_the_cache_once(synth_dir, tmp_path, capsys):
    args = [
        "data",
        "encode",
        f"data.root={synth_dir}",
        "data.synth=null",
        f"data.vocab_path={tmp_path / 'vocab.json'}",
        f"paths.cache_dir={tmp_path / 'cache'}",
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    n = len(list((tmp_path / "cache").rglob("*.pt")))
    assert n == 24
    assert "encoded 24 clips (0 already cached, 0 skipped) with MelRepresentation" in first
    assert main(args) == 0
    assert "encoded 0 clips (24 already cached, 0 skipped)" in capsys.readouterr().out
    assert len(list((tmp_path / "cache").rglob("*.pt"))) == n


def test_encode_without_a_cache_folder_is_refused(synth_dir, tmp_path, capsys):
    args = [
        "data",
        "encode",
        f"data.root={synth_dir}",
        "data.synth=null",
        "data.cache_dir=null",
        f"data.vocab_path={tmp_path / 'vocab.json'}",
    ]
    assert main(args) == 2 and "needs a cache folder" in capsys.readouterr().err


def test_encode_skips_and_counts_unreadable_clips(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    t = np.arange(4000) / 16000
    for i in range(3):
        sf.write(data / f"good{i}.wav", 0.3 * np.sin(2 * np.pi * 300 * (i + 1) * t), 16000)
    nan = np.zeros(4000, np.float32)
    nan[100] = np.nan
    sf.write(data / "nan.wav", nan, 16000, subtype="FLOAT")  # a valid header: fails on decode
    (data / "junk.wav").write_bytes(b"RIFF" + bytes(40))  # fails at the header check
    args = ["data", "encode", "data=folder", f"data.root={data}", "data.num_workers=0"]
    args.append(f"paths.cache_dir={tmp_path / 'cache'}")
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "encoded 3 clips (" in captured.out and ", 2 skipped)" in captured.out
    assert "skipped 2 unreadable clips:" in captured.err
    assert "nan.wav: audio contains NaN" in captured.err and "junk.wav" in captured.err
    assert len(list((tmp_path / "cache").rglob("*.pt"))) == 3
