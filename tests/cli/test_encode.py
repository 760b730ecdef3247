"""`audiodiff data encode` fills the cache that training reads, once."""

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
    assert n == 24 and "encoded 24 clips (0 already cached) with MelRepresentation" in first
    assert main(args) == 0
    assert "encoded 0 clips (24 already cached)" in capsys.readouterr().out
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
