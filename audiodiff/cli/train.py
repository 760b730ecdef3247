"""``audiodiff train [experiment=demo] [key=value ...]``: instantiate the parts, then fit."""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from audiodiff.errors import ConfigError
from audiodiff.safe_load import read_checkpoint
from audiodiff.training.compile import COMPILE_MODES

RUN_DIR_ENV = "AUDIODIFF_RUN_DIR"


@dataclass
class Options:  # the command's own keys, type-checked before anything runs
    seed: int
    threads: int | None
    overwrite: bool
    resume: str | None
    ckpt_path: str | None
    ema_decay: float
    observation: bool


TRAINER_COUNTS = ("max_steps", "max_epochs", "check_val_every_n_epoch", "log_every_n_steps")


def lightning_trainer(node: DictConfig) -> dict[str, Any]:
    """The trainer config, resolved, without ``compile``, which audiodiff reads (not
    lightning.Trainer)."""
    resolved = OmegaConf.to_container(node, resolve=True)
    return {key: value for key, value in resolved.items() if key != "compile"}


def _check(cfg: DictConfig) -> None:
    if cfg.threads is not None and cfg.threads < 1:
        raise ConfigError(f"threads must be >= 1 or null, got {cfg.threads}")
    if cfg.trainer.get("compile") not in COMPILE_MODES:
        modes = ", ".join("null" if m is None else m for m in COMPILE_MODES)
        raise ConfigError(f"trainer.compile must be one of {modes}; got {cfg.trainer.compile!r}")
    for key in TRAINER_COUNTS:
        value = cfg.trainer.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"trainer.{key} must be a whole number, got {value!r}")


def run(cfg: DictConfig) -> None:
    _check(cfg)
    # DDP relaunches this command once per extra process: they must share the run folder
    inherited = os.environ.get(RUN_DIR_ENV) if "LOCAL_RANK" in os.environ else None
    if cfg.resume:
        _resume(cfg)
    elif not inherited:
        _claim(Path(str(cfg.run_dir)), bool(cfg.get("overwrite")))
    cfg.run_dir = inherited or str(cfg.run_dir)
    os.environ[RUN_DIR_ENV] = cfg.run_dir
    try:
        _fit(cfg)
    finally:
        if not inherited:
            os.environ.pop(RUN_DIR_ENV, None)


def _differences(old: Any, new: Any, key: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [d for k in keys for d in _differences(old.get(k), new.get(k), f"{key}.{k}")]
    return [] if old == new else [f"{key[1:]}: {old} in the run, {new} now"]


def _claim(run_dir: Path, overwrite: bool) -> None:
    """A new run never writes over an earlier one unless asked: ``overwrite=true`` empties
    the folder first (so no stale samples or checkpoints stay mixed in)."""
    if not (run_dir / "config.yaml").is_file():
        return
    if not overwrite:
        raise ConfigError(
            f"{run_dir}: already holds a run (continue it with resume={run_dir}, "
            "train elsewhere with run_dir=..., or replace it with overwrite=true)"
        )
    shutil.rmtree(run_dir)


def _resume(cfg: DictConfig) -> None:
    """resume=RUN_DIR: continue that run in place from its last.ckpt, with the same model.

    "The same model" is the config parts the task names in ``resume_parts``.
    """
    run_dir = Path(cfg.resume)
    last = run_dir / "checkpoints" / "last.ckpt"
    if not last.is_file() or not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{run_dir}: not a run folder (no checkpoints/last.ckpt or config.yaml)")
    read_checkpoint(last)  # refused in one line if truncated or if it would run code
    saved = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"))
    if isinstance(saved.get("diffusion"), dict):  # a run saved before diffusion.denoiser
        from audiodiff.build import denoiser_config

        saved["diffusion"].setdefault("denoiser", dict(denoiser_config(saved["diffusion"])))
    cfg.run_dir, cfg.ckpt_path = str(run_dir), str(last)
    now = OmegaConf.to_container(cfg, resolve=True)
    for part in now["resume_parts"]:
        diff = _differences(saved.get(part), now.get(part), f".{part}")
        if diff:
            raise ConfigError(f"cannot resume with another {part}: {diff[0]}")


def _fit(cfg: DictConfig) -> None:
    import lightning as L

    # the EMA copy is in eval mode on purpose
    warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    if cfg.ckpt_path and not cfg.resume:
        read_checkpoint(cfg.ckpt_path)  # one line for a missing, broken or unsafe file
    if cfg.data.get("vocab_path") is None:  # the run keeps its label ids; the data is not touched
        cfg.data.vocab_path = str(Path(cfg.run_dir) / "vocab.json")
    if cfg.data.get("text_column") and cfg.data.get("tokenizer_path") is None:
        cfg.data.tokenizer_path = str(Path(cfg.run_dir) / "tokenizer.json")  # word ids, too
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    config = OmegaConf.to_container(cfg, resolve=True)
    config["vocab"] = datamodule.vocab.to_dict()
    tokenizer = getattr(datamodule, "tokenizer", None)
    if tokenizer is not None:  # a text model: the checkpoint encodes prompts as it trained
        config["tokenizer"] = tokenizer.to_dict()
    if cfg.get("band_envelope"):  # data statistics, like the vocabulary: fitted before training
        from audiodiff.restore.envelope import fit_on_dataset

        config["band_envelope"] = fit_on_dataset(datamodule.train_set, int(cfg.sample_rate))
    if cfg.get("fit_levels"):  # each label value's loudness, for `generate level=data`
        from audiodiff.data.levels import fit_on_dataset as fit_levels

        config["levels"] = fit_levels(datamodule.train_set)
    module, summary = instantiate(cfg.task)(config, datamodule)
    callbacks = [instantiate(c) for c in cfg.callbacks.values() if c is not None]
    loggers = [instantiate(c) for c in cfg.loggers.values() if c is not None]
    trainer = instantiate(lightning_trainer(cfg.trainer), callbacks=callbacks, logger=loggers)
    if trainer.is_global_zero:
        run_dir = Path(cfg.run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(config))
        Console().print(
            f"{summary} on {len(datamodule.train_set)} clips "
            f"({len(datamodule.val_set or [])} for validation); run folder: {run_dir}"
        )
    # weights_only=True: a resumed checkpoint is read without running pickled code
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path, weights_only=True)
    stopped = any(getattr(c, "interrupted", False) for c in callbacks)
    if trainer.is_global_zero:
        if stopped:
            Console(stderr=True).print(
                f"stopped at step {trainer.global_step}: checkpoints/last.ckpt saved; "
                f"continue with resume={cfg.run_dir}"
            )
        else:
            Console().print(f"done: {trainer.global_step} steps; model: {cfg.run_dir}/model")
    if stopped:
        raise KeyboardInterrupt
