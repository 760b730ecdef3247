"""Run the bad-input corpus through every command, in-process, and count what each did.

    python scripts/bad_input_report.py [--full] [--json OUT.json] [--corpus DIR]

builds the corpus of ``scripts/make_bad_inputs.py`` in a temporary folder (or uses
``--corpus``), runs each case through the commands it applies to and prints a table of
commands x outcomes, then the failures. Without ``--full`` the expensive commands (train,
roundtrip, data encode, evaluate) see a stratified subset (``subset``); the cheap ones see
every case.

Outcomes a command may have (which ones a case allows: ``Case.allowed``):
  ok     exit code 0 (the input was valid, or harmless and ignored)
  skip   exit code 0, the output counts skipped inputs (``SKIP_COUNT``) and names this one
  error  exit code 2 and one line ``audiodiff: error: ...`` naming the input, last on stderr
Failures, whatever the case allows:
  crash  an exception escaped ``main`` (or the API call), or a traceback was printed
  hang   the call ran past the time limit
  vague  exit code 2, but the error is not one line naming the input
  exit   another exit code
  changed / leaked / code_ran   an input file changed, something was written outside the
         output folder, a malicious input's marker file appeared
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_bad_inputs as corpus  # noqa: E402

OUTCOMES = ("ok", "skip", "error")
FAILURES = ("crash", "hang", "vague", "exit", "changed", "leaked", "code_ran")
EXPENSIVE = ("train", "roundtrip", "encode", "evaluate", "evaluate_paired")
TRACEBACK = "Traceback (most recent call last)"
# a count of skipped inputs, as the commands print or log it: "skipped 2 unreadable clips:",
# "skipped 1 of 3 clips ...", "skipping unreadable clip (1 so far)", "(4 clips, 1 unreadable
# skipped)" ("0 skipped" is no skip)
SKIP_COUNT = re.compile(r"\bskipped [1-9]|\bskipping\b|\b[1-9]\d* (unreadable )?skipped\b")
LONG_FACTOR = 5  # the 10-minute clip may take this many time limits (Griffin-Lim, PESQ)


class Hang(BaseException):
    """Raised in the main thread by SIGALRM; a BaseException, so that no ``except
    Exception`` (nor main's ``except OSError``) can swallow it."""


@dataclass
class Result:
    case: str
    kind: str
    family: str
    command: str
    outcome: str
    allowed: tuple[str, ...]
    seconds: float
    detail: str

    @property
    def passed(self) -> bool:
        return self.outcome in self.allowed


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@dataclass
class Captured:
    out: str = ""
    err: str = ""
    logs: str = ""

    @property
    def text(self) -> str:
        return "\n".join((self.out, self.err, self.logs))


@contextlib.contextmanager
def capture() -> Iterator[Captured]:
    """stdout as a terminal's (UTF-8, strict: a surrogate in a path would raise there too),
    stderr as Python's (backslashreplace), and the warnings that were logged."""
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, "utf-8", "strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, "utf-8", "backslashreplace", write_through=True)
    records, root = _Records(), logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    root.setLevel(min(level or logging.WARNING, logging.WARNING))  # warnings reach the handler
    root.handlers = [records]  # only here: not repeated by pytest's log capture, nor printed
    captured = Captured()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield captured
    finally:
        root.handlers = handlers
        root.setLevel(level)
        captured.out = out_bytes.getvalue().decode("utf-8", "replace")
        captured.err = err_bytes.getvalue().decode("utf-8", "replace")
        captured.logs = "\n".join(records.lines)


def listing(root: Path) -> dict[str, int]:
    """The mtime of every folder under ``root`` (and of root): creating, removing or renaming
    anything changes its folder's. Cheap enough for every call; file contents are
    ``fingerprint``'s job."""
    folders = {".": os.lstat(root).st_mtime_ns}
    for folder, dirs, _ in os.walk(root, followlinks=False):
        for name in dirs:
            path = os.path.join(folder, name)
            folders[os.path.relpath(path, root)] = os.lstat(path).st_mtime_ns
    return folders


def fingerprint(root: Path) -> dict[str, str]:
    """Every entry under ``root``: a hash of each regular file, a symlink's target, or the
    entry's type; FIFOs, devices and sockets are never opened."""
    prints = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                with open(path, "rb") as f:
                    value = hashlib.sha1(f.read()).hexdigest()
            elif stat.S_ISLNK(mode):
                value = "-> " + os.readlink(path)
            else:
                value = f"type {stat.S_IFMT(mode):o}"
            prints[os.path.relpath(path, root)] = value
    return prints


def forms(name: str) -> set[str]:
    """How a name may appear in output: as is, with surrogates backslash-escaped (stderr),
    with line breaks joined (main's one-line errors)."""
    escaped = name.encode("utf-8", "backslashreplace").decode("utf-8")
    joined = " ".join(part.strip() for part in name.splitlines())
    return {name, escaped, joined, " ".join(p.strip() for p in escaped.splitlines())} - {""}


def names(name: str, text: str) -> bool:
    return any(form in text for form in forms(name))


def _cli(argv_prefix: Sequence[str], base: dict[str, str], extra: Iterable[str]) -> list[str]:
    """``key=value`` arguments: the base ones, then the case's (same key: the case wins)."""
    args = dict(base)
    for arg in extra:
        key, _, value = arg.partition("=")
        args.pop(key.lstrip("+~"), None)
        args[key] = value
    return [*argv_prefix, *(f"{k}={v}" for k, v in args.items())]


class Runner:
    """Runs cases through commands in this process, with cwd and the AUDIODIFF_*_DIR
    variables pointing into ``work``, and checks what each call left behind."""

    def __init__(self, corpus_root: Path, work: Path, timeout: float = 120.0) -> None:
        self.corpus = Path(corpus_root)
        self.work = Path(work)
        self.cwd = self.work / "cwd"
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self._tree = listing(self.corpus)  # as the previous call left it

    def argv(self, case: corpus.Case, command: str, out: Path) -> list[str]:
        good, model = self.corpus / "good", self.corpus / "model"
        root = str(case.root or good)
        data = {"data": "folder", "data.root": root, "data.num_workers": "0"}
        bases: dict[str, tuple[list[str], dict[str, str]]] = {
            "encode": (["data", "encode"], {**data, "paths.cache_dir": f"{out}/cache"}),
            "train": (
                ["train"],
                {"experiment": "smoke", **data, "run_dir": f"{out}/run"}
                | {"+trainer.fast_dev_run": "1"},
            ),
            "evaluate": (
                ["evaluate"],
                {"generated": root, "reference": str(good), "pitch": "false"}
                | {"out": f"{out}/evaluate.json"},
            ),
            "evaluate_paired": (
                ["evaluate"],
                {"generated": root, "reference": f"{out}/reference", "paired": "true"}
                | {"out": f"{out}/evaluate.json"},
            ),
            "roundtrip": (
                ["roundtrip"],
                {**data, "n": "3", "pitch": "false", "out": f"{out}/roundtrip"},
            ),
            "generate": (
                ["generate"],
                {"ckpt": str(model), "n": "1", "seconds": "0.5", "steps": "2", "device": "cpu"}
                | {"out": f"{out}/generated"},
            ),
        }
        prefix, base = bases[command]
        return _cli(prefix, base, case.args.get(command, ()))

    def _paired_reference(self, case: corpus.Case, out: Path) -> None:
        """A valid clip under each audio name of the generated folder, so every file pairs."""
        from audiodiff.audio.io import find_audio

        good = self.corpus / "good" / "good_3.wav"
        root = Path(case.root or self.corpus / "good")
        for path in find_audio(root):
            target = out / "reference" / path.relative_to(root)
            with contextlib.suppress(OSError):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(good, target)

    def _call(self, case: corpus.Case, command: str, out: Path) -> Callable[[], object]:
        if command == "load":
            from audiodiff.audio.io import info, load

            return lambda: (load(case.paths[0], sample_rate=16000), info(case.paths[0]))
        if command == "model_load":
            import audiodiff

            return lambda: audiodiff.load(str(case.paths[0]), device="cpu")
        from audiodiff.cli.main import main

        if command == "evaluate_paired":
            self._paired_reference(case, out)
        argv = self.argv(case, command, out)
        return lambda: main(argv)

    @contextlib.contextmanager
    def _environment(self, out: Path) -> Iterator[None]:
        import torch

        names = {"AUDIODIFF_DATA_DIR": "data", "AUDIODIFF_OUTPUT_DIR": "outputs"}
        names["AUDIODIFF_CACHE_DIR"] = "cache"
        saved = {k: os.environ.get(k) for k in names}
        threads, cwd = torch.get_num_threads(), os.getcwd()
        os.environ.update({k: str(out / v) for k, v in names.items()})
        os.chdir(self.cwd)
        try:
            yield
        finally:
            os.chdir(cwd)
            torch.set_num_threads(threads)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def _watched(self, case: corpus.Case) -> list[Path]:
        """The folders whose files a call must not change: the case's and the shared ones."""
        folders = {self.corpus / "good", self.corpus / "model"}
        if case.root is not None:
            folders.add(case.root)
        if case.kind != "config":
            folders.add(case.paths[0].parent)
        return sorted(folders)

    def run(self, case: corpus.Case, command: str) -> Result:
        out = self.work / "out" / f"{case.name}.{command}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        watched = {p: fingerprint(p) for p in self._watched(case)}
        start = time.perf_counter()
        value: object = None
        failure = ""
        with self._environment(out), capture() as captured:
            try:
                call = self._call(case, command, out)
                with time_limit(self.timeout * (LONG_FACTOR if case.family == "long" else 1)):
                    value = call()
            except Hang as e:
                failure = f"hang: {e}"
            except Exception as e:  # an API command's own error, or a crash
                value = e
        seconds = time.perf_counter() - start
        outcome, detail = self._outcome(case, command, value, captured, failure)
        outcome, detail = self._after(case, watched, outcome, detail)
        shutil.rmtree(out, ignore_errors=True)
        return Result(
            case.name,
            case.kind,
            case.family,
            command,
            outcome,
            case.allowed(command),
            round(seconds, 3),
            detail,
        )

    def _outcome(
        self, case: corpus.Case, command: str, value: object, captured: Captured, failure: str
    ) -> tuple[str, str]:
        from audiodiff.errors import AudioDiffError

        named = case.named()
        if failure:
            return "hang", failure
        if TRACEBACK in captured.text:
            tail = captured.text[captured.text.index(TRACEBACK) :].strip().splitlines()
            return "crash", f"traceback printed: {tail[-1] if tail else ''}"
        if command in ("load", "model_load"):
            if isinstance(value, AudioDiffError | OSError):
                message = str(value)
                one_line = "\n" not in message.replace(named, "")
                if one_line and names(named, message):
                    return "error", message
                return "vague", f"{type(value).__name__}: {message}"
            if isinstance(value, BaseException):
                return "crash", _exception(value)
            return "ok", ""
        if isinstance(value, BaseException):
            return "crash", _exception(value)
        lines = [ln for ln in captured.err.strip().splitlines() if ln.strip()]
        if value == 2:
            errors = [ln for ln in lines if ln.startswith("audiodiff: error:")]
            if len(errors) == 1 and lines[-1] == errors[0] and names(named, errors[0]):
                return "error", errors[0]
            return "vague", " | ".join(lines[-3:]) or "(nothing on stderr)"
        if value != 0:
            return "exit", f"exit code {value}: {' | '.join(lines[-3:])}"
        if SKIP_COUNT.search(captured.text) and names(named, captured.text):
            reason = next((ln for ln in captured.text.splitlines() if names(named, ln)), "")
            return "skip", reason.strip()
        return "ok", ""

    def _after(
        self,
        case: corpus.Case,
        watched: dict[Path, dict[str, str]],
        outcome: str,
        detail: str,
    ) -> tuple[str, str]:
        """The first of: code ran, a watched input changed, the corpus or the working folder
        got a file; else (outcome, detail). Cleans up, so the next call starts clean."""
        found: list[tuple[str, str]] = []
        if case.marker is not None and os.path.lexists(case.marker):
            os.unlink(case.marker)
            found.append(("code_ran", f"the input ran code: {case.marker.name} was created"))
        for folder, before in watched.items():
            after = fingerprint(folder)
            if after != before:
                diff = sorted(set(after.items()) ^ set(before.items()))
                found.append(("changed", f"{folder.name}: {diff[0][0]} changed, appeared or went"))
        before, self._tree = self._tree, listing(self.corpus)
        if self._tree != before:
            now = self._tree
            diff = sorted(set(now) ^ set(before)) or sorted(k for k in now if now[k] != before[k])
            found.append(("leaked", f"written in the corpus, in: {diff[:3]}"))
        stray = sorted(os.listdir(self.cwd))
        for name in stray:
            path = self.cwd / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        if stray:
            found.append(("leaked", f"written in the working directory: {stray[:3]}"))
        return found[0] if found else (outcome, detail)


def _exception(e: BaseException) -> str:
    frames = traceback.extract_tb(e.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}{where}"


def subset(
    cases: Sequence[corpus.Case], command: str, bad: int = 1, valid: int = 1
) -> list[corpus.Case]:
    """The cases an expensive command sees in the default run: of each (kind, family,
    allowed outcomes) group ``bad`` cases (``valid`` for valid ones) spread evenly over the
    group, the ``core`` cases, every case whose expectation differs per command, and every
    config case of the command (those fail before any work)."""
    picked, groups = [], {}
    for case in cases:
        if command not in case.commands:
            continue
        if case.core or case.kind == "config" or not isinstance(case.expect, str):
            picked.append(case)
        else:
            groups.setdefault((case.kind, case.family, case.allowed(command)), []).append(case)
    for (_, _, allowed), members in groups.items():
        k = min(valid if allowed == ("ok",) else bad, len(members))
        spread = {round(i * (len(members) - 1) / max(1, k - 1)) for i in range(k)}
        picked += [members[i] for i in sorted(spread)]
    order = {case.name: i for i, case in enumerate(cases)}
    return sorted(picked, key=lambda case: order[case.name])


def plan(
    cases: Sequence[corpus.Case], full: bool, slow_families: Iterable[str] = ("long",)
) -> list[tuple[corpus.Case, str]]:
    """(case, command) pairs to run: every pair with ``full``; otherwise the cheap commands
    on every case (except ``slow_families`` on the expensive ones) and ``subset`` for the
    expensive commands."""
    pairs = []
    slow = set(slow_families)
    for command in corpus.COMMANDS:
        chosen = cases if full or command not in EXPENSIVE else subset(cases, command)
        for case in chosen:
            if command in case.commands and (full or case.family not in slow or command == "load"):
                pairs.append((case, command))
    return pairs


def table(results: Sequence[Result]) -> str:
    columns = [*OUTCOMES, *FAILURES, "wrong"]
    rows = []
    for command in corpus.COMMANDS:
        mine = [r for r in results if r.command == command]
        if not mine:
            continue
        counts = Counter(r.outcome if r.passed or r.outcome in FAILURES else "wrong" for r in mine)
        seconds = sum(r.seconds for r in mine)
        rows.append([command, len(mine), *(counts[c] for c in columns), f"{seconds:.1f}"])
    total = ["total", len(results), *(sum(r[i + 2] for r in rows) for i in range(len(columns)))]
    total.append(f"{sum(r.seconds for r in results):.1f}")
    header = ["command", "cases", *columns, "seconds"]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, total, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*row) for row in [header, *rows, total])


def summary(results: Sequence[Result]) -> dict:
    """Counts per command and outcome, and every failure: what the JSON report holds."""
    counts: dict[str, dict[str, int]] = {}
    for r in results:
        key = r.outcome if r.passed or r.outcome in FAILURES else "wrong"
        counts.setdefault(r.command, Counter())[key] += 1
    return {
        "cases": len({r.case for r in results}),
        "runs": len(results),
        "seconds": round(sum(r.seconds for r in results), 1),
        "counts": {c: dict(v) for c, v in counts.items()},
        "failures": [asdict(r) for r in results if not r.passed],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="every case through every command")
    parser.add_argument("--json", type=Path, help="write the counts and failures here")
    parser.add_argument("--corpus", type=Path, help="build the corpus here (empty or new)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per call")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # tiny models: threads only add synchronisation
    with tempfile.TemporaryDirectory(prefix="bad_inputs_") as tmp:
        root = args.corpus or Path(tmp) / "corpus"
        cases = corpus.build(root)
        runner = Runner(root, Path(tmp) / "work", args.timeout)
        results = [runner.run(case, command) for case, command in plan(cases, args.full)]
    print(table(results))
    failures = [r for r in results if not r.passed]
    for r in failures:
        line = f"FAIL {r.command:<16} {r.case:<40} {r.outcome:<8} {r.detail[:200]}"
        print(line.encode("utf-8", "backslashreplace").decode("utf-8"))
    if args.json:
        args.json.write_text(json.dumps(summary(results), indent=1, ensure_ascii=True) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
