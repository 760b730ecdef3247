"""``audiodiff <command> [key=value ...]``: picks the command, composes its config, runs it.

Errors a user can cause print as one line and exit with code 2; no traceback.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys

from omegaconf import DictConfig, OmegaConf

from audiodiff.cli.config import compose, config_dir
from audiodiff.errors import AudioDiffError, ConfigError

# command words -> (module with run(cfg), config name in conf/, one-line help)
COMMANDS: dict[tuple[str, ...], tuple[str, str, str]] = {
    ("data", "synth"): ("audiodiff.cli.synth", "synth", "build the built-in synthetic dataset"),
    ("data", "encode"): ("audiodiff.cli.encode", "encode", "pre-encode a dataset (mel/latents)"),
    ("data", "degrade"): (
        "audiodiff.cli.degrade",
        "degrade_data",
        "write clean/degraded pairs for restoration",
    ),
    ("evaluate",): ("audiodiff.cli.evaluate", "evaluate", "score generated or restored audio"),
    ("train",): ("audiodiff.cli.train", "train", "train a diffusion model (Lightning + Hydra)"),
    ("generate",): ("audiodiff.cli.generate", "generate", "generate clips from a trained model"),
    ("restore",): ("audiodiff.cli.restore", "restore", "denoise, declip, extend, fill gaps"),
    ("export",): ("audiodiff.cli.export", "export", "export a model as ONNX graphs"),
    ("ui",): ("audiodiff.cli.ui", "ui", "a web page for generate and restore (Gradio)"),
    ("roundtrip",): (
        "audiodiff.cli.roundtrip",
        "roundtrip",
        "encode and decode clips; write a sheet and scores",
    ),
}


def usage() -> str:
    lines = ["usage: audiodiff <command> [key=value ...] [--help]", "", "commands:"]
    for words, (_, _, text) in COMMANDS.items():
        lines.append(f"  {' '.join(words):<14} {text}")
    lines.append("\n`audiodiff <command> --help` shows the command's options and defaults.")
    return "\n".join(lines)


def _find_command(argv: list[str]) -> tuple[tuple[str, ...], list[str]]:
    for words in sorted(COMMANDS, key=len, reverse=True):
        if tuple(argv[: len(words)]) == words:
            return words, argv[len(words) :]
    known = ", ".join(" ".join(w) for w in COMMANDS)
    raise AudioDiffError(f"unknown command '{' '.join(argv[:2])}'; commands: {known}")


def _help(words: tuple[str, ...], config_name: str, text: str) -> str:
    """The command's config file (it is commented) and the options of each config group."""
    conf = config_dir()
    lines = [f"audiodiff {' '.join(words)} [key=value ...]: {text}", ""]
    lines += [f"options and defaults (conf/{config_name}.yaml):", ""]
    lines.append((conf / f"{config_name}.yaml").read_text().rstrip())
    groups = sorted(d for d in conf.iterdir() if d.is_dir() and any(d.glob("*.yaml")))
    lines += ["", "config groups (group=option):"]
    for group in groups:
        options = ", ".join(sorted(p.stem for p in group.glob("*.yaml")))
        lines.append(f"  {group.name:<16} {options}")
    return "\n".join(lines)


def _compose(config_name: str, overrides: list[str]) -> DictConfig:
    from hydra.errors import ConfigCompositionException

    try:
        return compose(config_name, overrides)
    except ConfigCompositionException as e:
        if not str(e).startswith("Could not override"):
            raise
        keys = ", ".join(str(k) for k in compose(config_name, []).keys())
        raise ConfigError(f"{_one_line(e)} Valid keys: {keys}") from None


def _one_line(error: Exception) -> str:
    text = str(error).strip().split("Config search path:")[0] or type(error).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = " ".join(ln for ln in lines if not ln.startswith(("full_key:", "object_type=")))
    key = getattr(error, "full_key", None)
    line = f"{key}: {line}" if key and not line.startswith(str(key)) else line
    return line if len(line) < 400 else line[:397] + "..."


def _check_types(cfg: DictConfig, schema: type) -> None:
    """Validate and convert the command's own keys against its ``Options`` dataclass."""
    names = [f.name for f in dataclasses.fields(schema)]
    typed = OmegaConf.merge(OmegaConf.structured(schema), {n: cfg[n] for n in names})
    for name in names:
        cfg[name] = typed[name]


def main(argv: list[str] | None = None) -> int:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    try:
        words, rest = _find_command(argv)
        module_name, config_name, text = COMMANDS[words]
        if any(a in ("-h", "--help") for a in rest):
            print(_help(words, config_name, text))
            return 0
        module = importlib.import_module(module_name)
        open_keys = getattr(module, "OPEN_KEYS", ())
        rest = [f"+{a}" if a.split(".", 1)[0] in open_keys and "=" in a else a for a in rest]
        # keys that share a config group's name (restore's task=): set after composing
        value_keys = getattr(module, "VALUE_KEYS", ())
        values = [a.split("=", 1) for a in rest if a.split("=", 1)[0] in value_keys]
        rest = [a for a in rest if a.split("=", 1)[0] not in value_keys]
        cfg = _compose(config_name, rest)
        for key, value in values:
            cfg[key] = value
        if hasattr(module, "Options"):
            _check_types(cfg, module.Options)
        module.run(cfg)
        return 0
    except (AudioDiffError, HydraException, OmegaConfBaseException) as e:
        cause = e.__cause__
        if isinstance(e, HydraException) and isinstance(cause, AudioDiffError):
            e = cause  # our own message, not Hydra's "Error in call to target ..."
        print(f"audiodiff: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # permissions, a full disk, a path that is a folder, ...
        name = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"audiodiff: error: {name}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("audiodiff: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
