"""The bad-input corpus (``scripts/make_bad_inputs.py``) through every command, in-process.

Each case x command must end in an outcome the case allows: a one-line error naming the
input (exit code 2), a skip that the output counts and names, or success for a valid but
unusual input. Never, for any case: an exception escaping ``main`` (or the API call), a
printed traceback, a call running past its time limit, a changed input file, a file written
outside the output folder (the corpus and the working directory are watched; cwd and the
AUDIODIFF_*_DIR variables point into the test's tmp folder), or a malicious input's marker
file appearing. The machinery (outcomes, the time limit, the snapshots) lives in
``scripts/bad_input_report.py``, which prints the same table from the command line.

Default run: every case through load (``audiodiff.audio.io``), generate and
``audiodiff.load``; train, roundtrip, data encode and evaluate (unpaired and paired) see a
stratified subset (``bad_input_report.subset``: one case of each kind, family and expectation, the
``CORE`` cases, every case whose expectation differs
per command, and every config case of the command). The 10-minute clip goes through load
only. ``-m slow`` runs the full matrix (about 8 minutes on 2 cores). Counts per command and
outcome go to ``bad_inputs.json`` in the test's tmp folder (the table to stdout: ``-s``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


make_bad_inputs = load_script("make_bad_inputs")
report = load_script("bad_input_report")
RESULTS: dict[str, list] = {"default": [], "full": []}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_inputs") / "corpus"
    cases = make_bad_inputs.build(root)
    return root, cases, report.fingerprint(root)


@pytest.fixture(scope="module")
def runner(corpus, tmp_path_factory):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models on 2 cores: threads only add synchronisation
    yield report.Runner(corpus[0], tmp_path_factory.mktemp("bad_inputs_work"), timeout=120)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", autouse=True)
def counts(tmp_path_factory):
    """After the module: the counts per command and outcome, as JSON and as a table."""
    yield
    out = tmp_path_factory.getbasetemp() / "bad_inputs.json"
    data = {run: report.summary(results) for run, results in RESULTS.items() if results}
    out.write_text(json.dumps(data, indent=1, ensure_ascii=True) + "\n")
    for run, results in RESULTS.items():
        if results:
            print(f"\nbad inputs, {run} run ({out}):\n{report.table(results)}")


def failures(results) -> str:
    lines = [f"{r.case}: {r.outcome} (allowed {'/'.join(r.allowed)}) {r.detail}" for r in results]
    return "\n".join(ln.encode("utf-8", "backslashreplace").decode() for ln in lines)


def run_all(runner, corpus, pairs, run: str) -> None:
    results = [runner.run(case, command) for case, command in pairs]
    RESULTS[run] += results
    now = report.fingerprint(corpus[0])
    changed = sorted(k for k in set(now) | set(corpus[2]) if now.get(k) != corpus[2].get(k))
    bad = [r for r in results if not r.passed]
    assert not bad and not changed, (
        f"{len(bad)} of {len(results)} runs failed:\n{failures(bad)}\n"
        f"corpus entries changed: {changed[:5]}"
    )


def test_corpus_covers_every_kind_and_command(corpus):
    _, cases, _ = corpus
    assert len(cases) >= 200
    kinds = {case.kind for case in cases}
    assert kinds == {"audio", "manifest", "config", "checkpoint"}
    covered = {command for case in cases for command in case.commands}
    assert covered == set(make_bad_inputs.COMMANDS)
    assert make_bad_inputs.CORE <= {case.name for case in cases}
    valid = [case for case in cases if case.expect == "valid"]
    assert 40 <= len(valid) < len(cases) / 2  # unusual but valid inputs, and mostly bad ones


@pytest.mark.parametrize("command", make_bad_inputs.COMMANDS)
def test_bad_inputs(runner, corpus, command):
    pairs = [(c, cmd) for c, cmd in report.plan(corpus[1], full=False) if cmd == command]
    assert pairs
    run_all(runner, corpus, pairs, "default")


@pytest.mark.slow
@pytest.mark.parametrize("command", make_bad_inputs.COMMANDS)
def test_bad_inputs_full_matrix(runner, corpus, command):
    pairs = [(c, cmd) for c, cmd in report.plan(corpus[1], full=True) if cmd == command]
    run_all(runner, corpus, pairs, "full")


# ------------------------------------------------------------- the harness itself can fail


def fake_case(tmp_path: Path) -> make_bad_inputs.Case:
    root = tmp_path / "corpus" / "audio" / "fake"
    root.mkdir(parents=True)
    (root / "input.wav").write_bytes(b"RIFF")
    for shared in ("good", "model", "other"):
        (tmp_path / "corpus" / shared).mkdir()
    args = {"load": (), "encode": ()}
    return make_bad_inputs.Case("fake", "audio", "fake", (root / "input.wav",), args, root=root)


def misbehave(how: str, case: make_bad_inputs.Case):
    """A stand-in for a command: it does what ``how`` says, in the runner's sandbox."""
    from audiodiff.errors import AudioFileError

    path = case.paths[0]

    def call():
        if how == "crash":
            raise KeyError("boom")
        if how == "traceback":
            print("Traceback (most recent call last):\n  x", file=sys.stderr)
            return 0
        if how == "hang":
            while True:
                pass
        if how == "vague":
            raise AudioFileError("elsewhere.wav", "unnamed")
        if how == "changed":
            path.write_bytes(b"RIFX")
        if how == "leaked":
            Path("stray.txt").write_text("written into the working directory")
        if how == "corpus_write":
            (path.parents[2] / "other" / "stray.txt").write_text("beside another input")
        if how == "code_ran":
            case.marker.write_text("pwned")
        if how == "skipped":
            print(f"skipped 1 unreadable clips:\n  {path}: corrupt", file=sys.stderr)
            return 0
        if how == "not_skipped":
            print(f"encoded 2 clips (0 already cached, 0 skipped); {path}")
            return 0
        if how == "cli_error":
            print(f"audiodiff: error: {path}: corrupt", file=sys.stderr)
            return 2
        if how == "cli_error_then_more":
            print(f"audiodiff: error: {path}: corrupt\nand more", file=sys.stderr)
            return 2
        if how == "exit_1":
            return 1
        raise AudioFileError(path, "fine")

    return call


@pytest.mark.parametrize(
    "how, command, outcome",
    [
        ("crash", "load", "crash"),
        ("traceback", "encode", "crash"),
        ("hang", "load", "hang"),
        ("vague", "load", "vague"),
        ("changed", "load", "changed"),
        ("leaked", "load", "leaked"),
        ("corpus_write", "load", "leaked"),
        ("code_ran", "load", "code_ran"),
        ("error", "load", "error"),
        ("skipped", "encode", "skip"),
        ("not_skipped", "encode", "ok"),
        ("cli_error", "encode", "error"),
        ("cli_error_then_more", "encode", "vague"),
        ("exit_1", "encode", "exit"),
    ],
)
def test_the_harness_tells_each_outcome(tmp_path, monkeypatch, how, command, outcome):
    case = fake_case(tmp_path)
    if how == "code_ran":
        case = dataclasses.replace(case, marker=tmp_path / "MARKER")
    runner = report.Runner(tmp_path / "corpus", tmp_path / "work", timeout=0.5)
    monkeypatch.setattr(runner, "_call", lambda c, cmd, out: misbehave(how, c))
    result = runner.run(case, command)
    assert result.outcome == outcome, result.detail
    assert result.passed == (outcome in ("error", "skip"))
