"""Docking score with AutoDock Vina against a dockstring receptor, with an on-disk cache.

Ligands are prepared the way a chemist would by hand: RDKit adds hydrogens, embeds a 3D
conformer (ETKDG, seeded) and relaxes it with MMFF; meeko writes the PDBQT (atom types,
rotatable bonds); Vina docks it in the target's box. Receptors and boxes come from the 58
prepared targets that the ``dockstring`` package ships (``DRD2``, ``ESR1``, ``ABL1``, …), or
from a user's own PDBQT and box.

Docking is slow (seconds per molecule at low exhaustiveness, tens of seconds at Vina's
default), so every result is cached on disk, keyed by target, canonical SMILES and the
settings that change the score; a failure (no embedding, no PDBQT, Vina error) scores NaN
and is cached too, so it is not retried. Unlike dockstring we do not re-protonate ligands
at pH 7.4 (that needs Open Babel): molecules are docked in the protonation state given, so
scores are close to but not identical with dockstring's.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import math
import multiprocessing
import os
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, PrivateAttr, field_validator, model_validator
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem

from drugloop.scoring.components import SCORING_COMPONENTS, MoleculeBatch, ScoringComponent

DEFAULT_CACHE = Path(os.environ.get("DRUGLOOP_CACHE", Path.home() / ".cache" / "drugloop"))


def dockstring_targets_dir() -> Path:
    """Folder of dockstring's prepared receptors (``<NAME>_target.pdbqt`` + ``<NAME>_conf.txt``)."""
    spec = importlib.util.find_spec("dockstring")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "docking against a named target needs the 'dockstring' package "
            "(pip install dockstring), which ships the prepared receptors"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "targets"


def dockstring_targets() -> list[str]:
    """Names of the receptors dockstring ships, e.g. ``['ABL1', 'ACHE', …, 'DRD2', …]``."""
    return sorted(
        p.name.removesuffix("_target.pdbqt")
        for p in dockstring_targets_dir().glob("*_target.pdbqt")
    )


def read_box(conf: Path) -> tuple[list[float], list[float]]:
    """Box centre and size from a Vina config file (``center_x = …``, ``size_x = …``)."""
    values: dict[str, float] = {}
    for number, line in enumerate(conf.read_text().splitlines(), start=1):
        if "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{conf}:{number}: not a number: {line.strip()!r}") from None
    try:
        return [values[f"center_{a}"] for a in "xyz"], [values[f"size_{a}"] for a in "xyz"]
    except KeyError as exc:
        raise ValueError(f"{conf}: no {exc.args[0]} in the box definition") from None


def ligand_pdbqt(smiles: str, seed: int = 0) -> str:
    """PDBQT text of one 3D conformer of ``smiles`` (hydrogens added, MMFF-relaxed).

    Raises ValueError naming the SMILES when it cannot be parsed, embedded or typed.
    """
    from meeko import MoleculePreparation, PDBQTWriterLegacy

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mol, params) != 0:
        params.useRandomCoords = True
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise ValueError(f"no 3D conformer for {smiles!r}")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        AllChem.MMFFOptimizeMolecule(mol, maxIters=500)
    setups = MoleculePreparation().prepare(mol)
    text, ok, error = PDBQTWriterLegacy.write_string(setups[0])
    if not ok:
        raise ValueError(f"meeko cannot write a PDBQT for {smiles!r}: {error.strip()}")
    return text


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C++ writes to file descriptors 1 and 2 (Vina warns there even at verbosity 0)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            yield
    finally:
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


class _Docker:
    """One Vina instance with the receptor's grid maps computed once (they take seconds)."""

    def __init__(self, receptor: str, center: list[float], size: list[float], settings: dict):
        from vina import Vina

        self.settings = settings
        self.vina = Vina(sf_name="vina", cpu=settings["cpu"], seed=settings["seed"], verbosity=0)
        with _quiet_stdout():  # Vina warns on stdout about dockstring's large boxes
            self.vina.set_receptor(rigid_pdbqt_filename=receptor)
            self.vina.compute_vina_maps(center=center, box_size=size)

    def score(self, smiles: str) -> float:
        try:
            self.vina.set_ligand_from_string(ligand_pdbqt(smiles, self.settings["seed"]))
            self.vina.dock(exhaustiveness=self.settings["exhaustiveness"], n_poses=1)
            energy = float(self.vina.energies(n_poses=1)[0][0])
        except Exception:  # embedding/typing/Vina failures of one molecule score NaN
            return math.nan
        return energy if math.isfinite(energy) else math.nan


_WORKER: _Docker | None = None


def _init_worker(receptor: str, center: list[float], size: list[float], settings: dict) -> None:
    global _WORKER
    _WORKER = _Docker(receptor, center, size, settings)


def _dock_in_worker(smiles: str) -> float:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.score(smiles)


class DockingCache:
    """SQLite table of docking scores (NULL for a failure), safe to share between processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, score REAL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get(self, keys: Sequence[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        with self._connect() as db:
            for lo in range(0, len(keys), 500):
                part = list(keys[lo : lo + 500])
                marks = ",".join("?" * len(part))
                rows = db.execute(f"SELECT key, score FROM scores WHERE key IN ({marks})", part)
                found.update((k, math.nan if s is None else s) for k, s in rows)
        return found

    def put(self, items: dict[str, float]) -> None:
        rows = [(k, None if math.isnan(v) else v) for k, v in items.items()]
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?)", rows)


@SCORING_COMPONENTS.register("docking")
class Docking(ScoringComponent):
    """AutoDock Vina score (kcal/mol, lower is better): pair it with a reverse sigmoid.

    ``target`` names a dockstring receptor; or give ``receptor`` (a PDBQT path) with
    ``center`` and ``size`` (Å). ``exhaustiveness`` and ``seed`` go to Vina; ``processes`` > 1
    docks molecules in parallel (one Vina per process, ``cpu`` threads each). Scores are
    cached under ``cache_dir`` (default ``~/.cache/drugloop``, or ``$DRUGLOOP_CACHE``).
    """

    target: str | None = None
    receptor: str | None = None
    center: list[float] | None = None
    size: list[float] | None = None
    exhaustiveness: int = Field(8, ge=1, le=64)
    seed: int = 0
    cpu: int = Field(1, ge=1)
    processes: int = Field(1, ge=1)
    cache_dir: str | None = None
    n_docked: int = Field(0, exclude=True)
    n_cached: int = Field(0, exclude=True)
    _docker: _Docker | None = PrivateAttr(default=None)
    _pool: Any = PrivateAttr(default=None)
    _cache: DockingCache | None = PrivateAttr(default=None)

    @field_validator("center", "size")
    @classmethod
    def three_numbers(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and len(value) != 3:
            raise ValueError("center and size take three numbers (x, y, z)")
        return value

    @model_validator(mode="after")
    def one_receptor(self) -> Docking:
        if (self.target is None) == (self.receptor is None):
            raise ValueError("give either 'target' (a dockstring receptor) or 'receptor'")
        if self.receptor is not None:
            if self.center is None or self.size is None:
                raise ValueError("a 'receptor' PDBQT needs 'center' and 'size' of its box")
            if not Path(self.receptor).is_file():
                raise ValueError(f"receptor file {self.receptor} not found")
        else:
            try:
                known = dockstring_targets()
            except ImportError as exc:
                raise ValueError(str(exc)) from None
            if self.target not in known:
                raise ValueError(f"unknown dockstring target {self.target!r}; known: {known}")
        return self

    # ------------------------------------------------------------------ receptor and cache

    def _receptor(self) -> tuple[str, list[float], list[float]]:
        if self.receptor is not None:
            return self.receptor, list(self.center or []), list(self.size or [])
        root = dockstring_targets_dir()
        center, size = read_box(root / f"{self.target}_conf.txt")
        return str(root / f"{self.target}_target.pdbqt"), center, size

    def _settings(self) -> dict[str, Any]:
        return {"exhaustiveness": self.exhaustiveness, "seed": self.seed, "cpu": self.cpu}

    def _key(self, smiles: str, receptor_digest: str) -> str:
        settings = {k: v for k, v in self._settings().items() if k != "cpu"}
        text = json.dumps([receptor_digest, smiles, settings], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _receptor_digest(self, receptor: str, center: list[float], size: list[float]) -> str:
        digest = hashlib.sha256(Path(receptor).read_bytes())
        digest.update(json.dumps([center, size]).encode())
        return f"{self.target or 'custom'}:{digest.hexdigest()[:16]}"

    @property
    def cache(self) -> DockingCache:
        if self._cache is None:
            root = Path(self.cache_dir) if self.cache_dir else DEFAULT_CACHE
            self._cache = DockingCache(root / "docking.sqlite")
        return self._cache

    # ------------------------------------------------------------------ scoring

    def _dock(self, smiles: list[str], receptor: str, center: list[float], size: list[float]):
        if self.processes > 1:
            if self._pool is None:  # kept across batches: each worker computes its maps once
                # fork where there is one: spawn would re-run a user's unguarded script
                methods = multiprocessing.get_all_start_methods()
                context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
                init = (receptor, center, size, self._settings())
                self._pool = context.Pool(self.processes, _init_worker, init)
            return self._pool.map(_dock_in_worker, smiles, chunksize=1)
        if self._docker is None:
            self._docker = _Docker(receptor, center, size, self._settings())
        return [self._docker.score(s) for s in smiles]

    def close(self) -> None:
        """Stop the worker processes (they restart on the next batch that needs docking)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()
            pool.join()

    def __del__(self) -> None:  # best effort; never raise from a finalizer
        with contextlib.suppress(Exception):
            self.close()

    def compute(self, batch: MoleculeBatch) -> np.ndarray:
        values = np.full(len(batch), np.nan)
        canonical = {
            i: Chem.MolToSmiles(mol) for i, mol in enumerate(batch.mols) if mol is not None
        }
        if not canonical:
            return values
        receptor, center, size = self._receptor()
        digest = self._receptor_digest(receptor, center, size)
        keys = {smiles: self._key(smiles, digest) for smiles in set(canonical.values())}
        cached = self.cache.get(list(keys.values()))
        todo = sorted(s for s, k in keys.items() if k not in cached)
        if todo:
            scores = self._dock(todo, receptor, center, size)
            fresh = {keys[s]: v for s, v in zip(todo, scores, strict=True)}
            self.cache.put(fresh)
            cached.update(fresh)
        self.n_docked += len(todo)
        self.n_cached += len(keys) - len(todo)
        for i, smiles in canonical.items():
            values[i] = cached[keys[smiles]]
        return values
