"""A run killed at a random step and resumed ends bit-identical to an uninterrupted run.

Each run is a real `audiodiff train` process on the CPU with `trainer.deterministic=true`,
`last.ckpt` every 3 steps, validation (and previews) every 5 steps, so kills land before,
after and between checkpoints, mid-epoch and at epoch ends. Compared: every weight and
buffer (EMA included), the optimizer and LR-scheduler states, the step count, the RNG state
and the batches seen (indices and a hash of each batch's tensor, from the BatchLog callback).

The data order and crops come from (seed, epoch) alone (audiodiff.data.sampler), not from
the global or a worker's RNG, so identity holds with DataLoader workers too (one run here
uses num_workers=2). The default test run covers the diffusion run; the codec and worker
runs, and the kill at a random step, are marked slow.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from audiodiff.safe_load import read_checkpoint

STEPS = 24
# diffusion; codec (a GAN from step 2); diffusion with two loader worker processes
RUNS = {
    "diffusion": ("smoke",),
    "codec": ("codec_smoke",),
    "workers": ("smoke", "data.num_workers=2"),
}


def command(experiment: str, *extra: str, tmp: Path, resume: bool = False) -> list[str]:
    run = tmp / "run"
    return [
        sys.executable,
        "-m",
        "audiodiff",
        "train",
        f"experiment={experiment}",
        f"resume={run}" if resume else f"run_dir={run}",
        f"paths.data_dir={tmp.parent / 'data'}",
        f"trainer.max_steps={STEPS}",
        "trainer.limit_train_batches=5",
        "trainer.deterministic=true",
        "callbacks.checkpoint.every_n_train_steps=3",
        "callbacks.checkpoint.every_n_minutes=null",
        "+callbacks.batch_log._target_=audiodiff.training.callbacks.BatchLog",
        "threads=1",
        *extra,
    ]


def run_to_end(cmd: list[str], tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def logged_steps(path: Path) -> list[tuple[int, str]]:
    """(step, "indices,hash") per well-formed line of a BatchLog file, in file order."""
    rows = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        step, _, rest = line.partition(",")
        if step.isdigit() and rest.count(",") == 1 and len(rest.rsplit(",", 1)[1]) == 16:
            rows.append((int(step), rest))
    return rows


def batches_by_step(path: Path) -> dict[int, str]:
    """Step -> batch; a step logged twice (run again after the resume) keeps its last line,
    after checking that both lines agree."""
    seen: dict[int, str] = {}
    for step, batch in logged_steps(path):
        assert seen.get(step, batch) == batch, f"step {step} saw another batch the second time"
        seen[step] = batch
    return seen


def assert_same(a, b, where: str = "") -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert torch.equal(a, b), f"{where} differs"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {set(a) ^ set(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_state(reference: Path, resumed: Path) -> None:
    a, b = read_checkpoint(reference), read_checkpoint(resumed)
    assert a["global_step"] == b["global_step"] == STEPS
    for part in ("state_dict", "optimizer_states", "lr_schedulers"):
        assert_same(a[part], b[part], part)
    assert_same(a["callbacks"]["RandomState"], b["callbacks"]["RandomState"], "rng")
    # the data loader's place in its epoch
    loader = [c["loops"]["fit_loop"]["state_dict"]["combined_loader"] for c in (a, b)]
    assert_same(*loader, "combined_loader")


# the default run kills and resumes the diffusion run; the codec and loader-worker runs are
# slow (-m slow), which keeps the default test run near its 10-minute budget
@pytest.fixture(
    scope="module",
    params=[name if name == "diffusion" else pytest.param(name, marks=pytest.mark.slow)
            for name in RUNS],
)  # fmt: skip
def reference(request, tmp_path_factory) -> tuple[tuple[str, ...], Path]:
    """An uninterrupted run of STEPS steps."""
    tmp = tmp_path_factory.mktemp(f"ref_{request.param}")
    run_to_end(command(*RUNS[request.param], tmp=tmp), tmp)
    return RUNS[request.param], tmp / "run"


def wait_for_step(proc: subprocess.Popen, log: Path, step: int) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        rows = logged_steps(log)
        if rows and rows[-1][0] >= step:
            return
        time.sleep(0.01)
    raise AssertionError(f"the run ended or stalled before step {step} (rc {proc.poll()})")


def start(cmd: list[str], tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    err = open(tmp / "stderr.txt", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=tmp)


def kill_and_resume(run: tuple[str, ...], ref_run: Path, tmp_path: Path, kill_after: int):
    proc = start(command(*run, tmp=tmp_path), tmp_path)
    wait_for_step(proc, tmp_path / "run" / "batches.csv", kill_after)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    saved = read_checkpoint(last)["global_step"]  # whole, even if the kill hit a save
    assert 3 <= saved < STEPS and saved % 3 == 0, f"killed after step {kill_after}: {saved}"

    run_to_end(command(*run, tmp=tmp_path, resume=True), tmp_path)
    assert_same_state(ref_run / "checkpoints" / "last.ckpt", last)
    resumed = batches_by_step(tmp_path / "run" / "batches.csv")
    assert resumed == batches_by_step(ref_run / "batches.csv"), f"killed after {kill_after}"
    assert sorted(resumed) == list(range(1, STEPS + 1))
    return saved


# slow: the default run kills at fixed steps (16, an epoch end, below; 7 with ctrl-c), which
# covers the same path; this one draws the step, so repeated -m slow runs sweep the rest
@pytest.mark.slow
def test_sigkill_at_a_random_step_then_resume_is_bit_identical(reference, tmp_path):
    run, ref_run = reference
    kill_after = random.Random().randint(4, STEPS - 6)  # after the first checkpoint (step 3)
    kill_and_resume(run, ref_run, tmp_path, kill_after)


def test_sigkill_after_a_checkpoint_at_an_epoch_end(reference, tmp_path):
    """Step 15 ends epoch 3 (5 steps an epoch) and is a checkpoint step: the resumed run
    must start the next epoch, not replay or skip one."""
    run, ref_run = reference
    if run[0] != "smoke":
        pytest.skip("the epoch-end case is the loader's, the same for every task")
    assert kill_and_resume(run, ref_run, tmp_path, 16) in (15, 18)


def test_ctrl_c_saves_the_step_it_stops_at_and_resume_is_bit_identical(reference, tmp_path):
    run, ref_run = reference
    if run != RUNS["diffusion"]:
        pytest.skip("one run is enough for the signal path")
    proc = start(command(*run, tmp=tmp_path), tmp_path)
    wait_for_step(proc, tmp_path / "run" / "batches.csv", 7)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    err = (tmp_path / "stderr.txt").read_text()
    assert "stopped at step" in err and "Traceback" not in err, err[-2000:]
    stopped = int(err.split("stopped at step ")[1].split(":")[0])
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert read_checkpoint(last)["global_step"] == stopped < STEPS
    assert max(batches_by_step(tmp_path / "run" / "batches.csv")) == stopped

    run_to_end(command(*run, tmp=tmp_path, resume=True), tmp_path)
    assert_same_state(ref_run / "checkpoints" / "last.ckpt", last)
