"""Denial letters in PDF are read in a worker process whose address space is capped.

PDFium and Tesseract are native code: a file no check foresaw can make them abort (a compressed
stream bomb did: exit 134, no message) or ask for more memory than the machine has. In the worker,
either ends that process only: the file becomes one InputError for the run to reject, the next
letter gets a fresh worker, and the run's other inputs are read as if nothing happened. The cap is
`documents.worker_mb` in appeals/data/limits.yaml (Tesseract, started by the worker, inherits it).

The worker is a plain child process (`python -m appeals.intake.worker`) spoken to over its stdin
and stdout, not multiprocessing: that would import the caller's own script again in the child,
which breaks any script that reads a letter without an `if __name__ == "__main__"` guard. One
worker serves every letter of a process; it starts on the first PDF.
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import BinaryIO

from appeals.intake.caps import MB, caps
from appeals.intake.errors import InputError
from appeals.models import DenialRecord, Reject

_child: subprocess.Popen | None = None
#: One request at a time on the worker's pipes (the desk reads from several threads).
_turn = threading.Lock()


def _start() -> subprocess.Popen:
    global _child
    if _child is None or _child.poll() is not None:
        # The child imports this very copy of the package, wherever the caller found it.
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
        _child = subprocess.Popen(
            [sys.executable, "-m", "appeals.intake.worker", str(caps().worker_mb * MB)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    return _child


def _stop() -> None:
    global _child
    if _child is not None:
        if _child.poll() is None:
            _child.stdin.close()  # the worker's loop ends on end of input
            try:
                _child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _child.kill()
                _child.wait()
        _child = None


atexit.register(_stop)


def read_letter_isolated(path: Path, plan_type: str | None = None
                         ) -> list[DenialRecord | Reject]:
    """`read_letter` in the worker. InputError for a file that is not a readable letter, and
    for one that ends the worker (a native crash, or over the memory cap)."""
    with _turn:
        child = _start()
        try:
            pickle.dump((str(path), plan_type), child.stdin)
            child.stdin.flush()
            kind, value = pickle.load(child.stdout)
            code = None
        except (EOFError, BrokenPipeError, pickle.UnpicklingError, OSError):
            code = child.wait()
            _stop()
    if code is not None:
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        raise InputError(f"reading it stopped the PDF reader ({how}: a crash in the PDF or OCR "
                         f"library, or over the {caps().worker_mb} MB a letter may use): not "
                         "read") from None
    if kind == "error":
        raise InputError(str(value))
    return list(value)


# --- the worker's side ---------------------------------------------------------------------------
def _cap_memory(most: int) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: no cap; the checks before parsing still hold
        return
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS,
                       (most if hard == resource.RLIM_INFINITY else min(most, hard), hard))


def _serve(requests: BinaryIO, answers: BinaryIO) -> None:
    from appeals.intake.letter import read_letter

    while True:
        try:
            path, plan_type = pickle.load(requests)
        except EOFError:
            return
        try:
            answer: tuple[str, object] = ("ok", list(read_letter(Path(path), plan_type)))
        except InputError as exc:
            answer = ("error", str(exc))
        except MemoryError:
            answer = ("error", (f"reading it needed more than the {caps().worker_mb} MB a "
                                "letter may use (appeals/data/limits.yaml, documents.worker_mb):"
                                " not read"))
        pickle.dump(answer, answers)
        answers.flush()


if __name__ == "__main__":
    _cap_memory(int(sys.argv[1]))
    # Answers go out on a copy of stdout; anything a library prints lands on stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _serve(sys.stdin.buffer, out)
