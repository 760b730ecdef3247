"""A text model end to end: trained by `audiodiff train`, loaded by `audiodiff.load`, and its
prompts encoded to the ids it trained with."""

import pytest
import torch

from audiodiff.errors import ConfigError
from audiodiff.nn.text import Tokenizer
from audiodiff.pipeline import load

TINY = [
    "data.batch_size=4",
    "data.segment_seconds=0.5",
    "model.channels=16",
    "model.channel_mults=[1,2]",
    "model.attention_levels=[1]",
    "model.cross_attention_levels=[1]",
    "text.encoder.dim=16",
    "text.encoder.layers=1",
    "text.encoder.heads=2",
    "trainer.max_steps=2",
    "+trainer.limit_train_batches=2",
    "+trainer.limit_val_batches=1",
    "trainer.check_val_every_n_epoch=1",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
    "callbacks.preview=null",
    "data.synth=null",
    "data.num_workers=0",
]


@pytest.fixture(scope="module")
def text_run(synth_dir, tmp_path_factory):
    from audiodiff.cli.main import main

    tmp = tmp_path_factory.mktemp("text_run")
    args = [f"run_dir={tmp / 'run'}", f"data.root={synth_dir}", f"paths.cache_dir={tmp / 'c'}"]
    assert main(["train", "experiment=text_synth_cpu", *args, *TINY]) == 0
    return tmp / "run"


def test_a_checkpoint_and_an_export_encode_prompts_as_training_did(text_run):
    tok = Tokenizer.load(text_run / "tokenizer.json")  # kept next to vocab.json
    assert (text_run / "vocab.json").is_file() and "bell" in tok.words
    prompts = ["A soft FM bell playing C4 (MIDI 60)", "something never heard", ""]
    for path in (text_run / "model", text_run / "checkpoints" / "last.ckpt"):
        pipe = load(path, device="cpu")
        assert pipe.text and pipe.tokenizer == tok
        cond = pipe.encode_cond({"prompt": prompts}, 3)
        assert torch.equal(cond["text"], tok.encode(prompts))
        assert cond["text"].shape == (3, tok.max_tokens) and not cond["text"][2].any()
        same = pipe.encode_cond({"prompt": "a loud kick"}, 2)["text"]
        assert torch.equal(same, tok.encode(["a loud kick"] * 2))
        assert not pipe.encode_cond({}, 2)["text"].any()  # no prompt: the empty prompt
        x = torch.randn(3, pipe.representation.channels, 8)
        out = pipe.denoiser(x, torch.full((3,), 1.0), cond)
        assert out.shape == x.shape and torch.isfinite(out).all()
        with pytest.raises(ConfigError, match="2 values for n=3"):
            pipe.encode_cond({"prompt": ["a", "b"]}, 3)
        with pytest.raises(ConfigError, match="must be text"):
            pipe.encode_cond({"prompt": 3}, 1)


def test_a_model_without_text_refuses_a_prompt_in_one_line():
    from audiodiff.audio.mel import MelRepresentation
    from audiodiff.data.vocab import LabelVocab
    from audiodiff.diffusion.precond import Denoiser
    from audiodiff.nn.unet import UNet1d
    from audiodiff.pipeline import Pipeline

    rep = MelRepresentation()
    net = UNet1d(rep.channels, channels=16, channel_mults=(1,), attention_levels=())
    pipe = Pipeline(Denoiser(net), rep, LabelVocab({}), {"model": {}}, device="cpu")
    assert not pipe.text
    with pytest.raises(ConfigError) as e:
        pipe.encode_cond({"prompt": "a soft bell"}, 1)
    assert "no text conditioning" in str(e.value) and "\n" not in str(e.value)


def test_a_text_config_without_its_tokenizer_is_one_line(text_run, tmp_path):
    import shutil

    import yaml

    folder = tmp_path / "model"
    shutil.copytree(text_run / "model", folder)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    del config["tokenizer"]
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="no tokenizer"):
        load(folder, device="cpu")


def test_generate_reads_the_prompt(text_run):
    """A text-only model (no labels, no timing) must still pass its prompt to the net: with
    random output weights (a trained net's stand-in), two prompts give two clips."""
    pipe = load(text_run / "model", device="cpu")
    assert pipe.text and not pipe.vocab.labels and not pipe.timing
    torch.manual_seed(0)
    with torch.no_grad():
        for p in pipe.denoiser.parameters():
            p.add_(0.05 * torch.randn_like(p))
    kw = {"n": 1, "seconds": 0.5, "sampler": "euler", "steps": 2, "cfg_scale": 1.0, "seed": 3}
    a = pipe.generate(cond={"prompt": "a soft bell"}, **kw)
    b = pipe.generate(cond={"prompt": "a loud pluck"}, **kw)
    again = pipe.generate(cond={"prompt": "a soft bell"}, **kw)
    assert torch.equal(a, again)
    assert (a - b).abs().max() > 1e-4
