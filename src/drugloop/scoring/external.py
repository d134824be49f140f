"""Score with any program: SMILES one per line to its stdin, one float per line from stdout.

This is how users plug in their own oracle (a docking script, an in-house model in another
environment, a physics code) without writing Python against drugloop. The process is started
once and kept alive across batches (oracles with a slow start-up pay it once); a line that is
not a number, ``nan`` or an empty line means a failure for that molecule (NaN). A process that
dies or stays silent past ``timeout`` raises a clear error naming the command.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import shlex
import subprocess
import sys
import threading
from typing import Any

import numpy as np
from pydantic import Field, PrivateAttr, field_validator

from drugloop.scoring.components import SCORING_COMPONENTS, MoleculeBatch, ScoringComponent
from drugloop.scoring.errors import ScoringConfigError

PYTHON = "{python}"  # placeholder argument: the interpreter running drugloop


class ExternalProcessError(RuntimeError):
    """The external scoring process died, timed out or answered out of step."""


@SCORING_COMPONENTS.register("external_process")
class ExternalProcess(ScoringComponent):
    """Line-protocol oracle: ``command`` reads SMILES lines and writes one float per line.

    Invalid SMILES are not sent (they get NaN without costing a call). ``cwd`` and ``env``
    set where and with which extra environment variables the command runs. A ``{python}``
    argument stands for the interpreter running drugloop, so a Python oracle can use the same
    environment (RDKit, your models) whether or not that environment is activated.
    """

    command: list[str] | str
    timeout: float = Field(600.0, gt=0)
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    _process: Any = PrivateAttr(default=None)
    _lines: Any = PrivateAttr(default=None)
    _stderr_tail: list[str] = PrivateAttr(default_factory=list)
    _stderr_pump: threading.Thread | None = PrivateAttr(default=None)
    n_sent: int = Field(0, exclude=True)

    @field_validator("command")
    @classmethod
    def non_empty(cls, value: list[str] | str) -> list[str]:
        argv = shlex.split(value) if isinstance(value, str) else list(value)
        if not argv:
            raise ValueError("external_process needs a command")
        return argv

    # ------------------------------------------------------------------ process handling

    def _start(self) -> None:
        env = {**os.environ, **self.env}
        argv = [sys.executable if arg == PYTHON else arg for arg in self.command]
        try:
            self._process = subprocess.Popen(  # noqa: S603 - the user's own command, by design
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
                cwd=self.cwd,
                env=env,
            )
        except OSError as exc:
            raise ScoringConfigError(
                f"external_process: cannot start {shlex.join(self.command)!r}: {exc}"
            ) from None
        self._lines = queue.Queue()
        self._stderr_tail = []
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        self._stderr_pump = threading.Thread(target=self._pump_stderr, daemon=True)
        self._stderr_pump.start()

    def _pump_stdout(self) -> None:
        process, lines = self._process, self._lines
        for line in process.stdout:
            lines.put(line)
        lines.put(None)  # EOF: the process closed its output

    def _pump_stderr(self) -> None:
        for line in self._process.stderr:
            self._stderr_tail = [*self._stderr_tail[-19:], line.rstrip()]

    def _died(self, why: str) -> ExternalProcessError:
        code = None
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=1)  # a dying process: let it finish its traceback
            code = self._process.poll()
            if code is not None and self._stderr_pump is not None:
                # its stdout can close before the pump has read the last stderr lines
                self._stderr_pump.join(timeout=5)
        tail = "\n".join(self._stderr_tail[-5:])
        self.close()
        return ExternalProcessError(
            f"external_process {shlex.join(self.command)!r} {why}"
            + (f" (exit code {code})" if code is not None else "")
            + (f"; last stderr lines:\n{tail}" if tail else "")
        )

    def close(self) -> None:
        """Stop the process (it is restarted on the next batch)."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin:
                process.stdin.close()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()

    def __del__(self) -> None:  # best effort; never raise from a finalizer
        with contextlib.suppress(Exception):
            self.close()

    # ------------------------------------------------------------------ scoring

    def _query(self, smiles: list[str]) -> list[float]:
        if self._process is None or self._process.poll() is not None:
            self._start()
        try:
            self._process.stdin.write("".join(s.replace("\n", " ") + "\n" for s in smiles))
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died("closed its input") from None
        out: list[float] = []
        for _ in smiles:
            try:
                line = self._lines.get(timeout=self.timeout)
            except queue.Empty:
                raise self._died(f"gave no answer within {self.timeout:g} s") from None
            if line is None:
                raise self._died(f"stopped after {len(out)} of {len(smiles)} answers")
            out.append(_to_float(line))
        self.n_sent += len(smiles)
        return out

    def compute(self, batch: MoleculeBatch) -> np.ndarray:
        values = np.full(len(batch), np.nan)
        send = [i for i, mol in enumerate(batch.mols) if mol is not None]
        if send:
            values[send] = self._query([batch.smiles[i] for i in send])
        return values


def _to_float(line: str) -> float:
    text = line.strip()
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan
