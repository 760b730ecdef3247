"""``trainer.compile``: the training step runs the denoiser under torch.compile, and nothing
else changes (parameters, checkpoint keys, EMA, export)."""

import pytest
import torch

from audiodiff.audio.mel import MelRepresentation
from audiodiff.cli.main import main
from audiodiff.diffusion.flow import FlowDenoiser, FlowLoss
from audiodiff.nn.unet import UNet1d
from audiodiff.training.module import DiffusionModule


def module(compile_mode: str | None) -> DiffusionModule:
    torch.manual_seed(0)
    net = UNet1d(
        80,
        channels=16,
        channel_mults=(1, 2),
        num_res_blocks=1,
        attention_levels=(1,),
        num_heads=2,
        label_sizes={"pitch": 5},
    )
    return DiffusionModule(
        denoiser=FlowDenoiser(net),
        representation=MelRepresentation(),
        loss=FlowLoss(),
        optimizer=torch.optim.AdamW,
        compile_mode=compile_mode,
    )


def batch() -> dict:
    generator = torch.Generator().manual_seed(3)
    return {
        "x": torch.randn(4, 80, 16, generator=generator),
        "cond": {"pitch": torch.tensor([1, 2, 3, 4])},
    }


def test_the_training_step_calls_the_compiled_module_which_shares_the_parameters(monkeypatch):
    compiled = []

    def fake_compile(model, mode):  # records what would be compiled; runs it eagerly
        compiled.append((model, mode))
        calls = []
        model.register_forward_hook(lambda *_: calls.append(1))
        fake_compile.calls = calls
        return model

    monkeypatch.setattr(torch, "compile", fake_compile)
    eager, with_compile = module(None), module("default")
    assert eager.train_denoiser() is eager.denoiser and not compiled
    torch.manual_seed(5)
    expected = eager.training_step(batch(), 0)
    torch.manual_seed(5)
    got = with_compile.training_step(batch(), 0)
    assert compiled == [(with_compile.denoiser, "default")] and fake_compile.calls == [1]
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    with_compile.training_step(batch(), 1)
    assert len(compiled) == 1  # built once, reused
    assert set(with_compile.state_dict()) == set(eager.state_dict())


def test_a_bad_compile_mode_is_refused_before_any_work(tmp_path, capsys):
    code = main(
        [
            "train",
            "experiment=smoke",
            f"run_dir={tmp_path / 'run'}",
            f"paths.data_dir={tmp_path / 'data'}",
            "trainer.compile=fastest",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "trainer.compile must be one of null, default" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "data").exists()
    with pytest.raises(ValueError, match="compile mode"):
        module("fastest")


@pytest.mark.slow
def test_inductor_gives_the_eager_loss_and_gradients():
    eager, with_compile = module(None), module("default")
    losses = []
    for m in (eager, with_compile):
        torch.manual_seed(5)
        loss = m.training_step(batch(), 0)
        loss.backward()
        losses.append(loss)
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-4, atol=1e-5)
    for (name, a), (_, b) in zip(
        eager.denoiser.named_parameters(), with_compile.denoiser.named_parameters(), strict=True
    ):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-3, atol=1e-5, msg=name)
