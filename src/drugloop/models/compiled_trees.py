"""Tree ensembles compiled to native code (TL2cgen), predicting exactly what LightGBM predicts.

LightGBM walks its trees through a generic interpreter: about 65 ns per tree and molecule on
the ADMET panel, a third of its predict time. TL2cgen (the treelite code generator) writes a
booster out as C if/else code that a C compiler turns into a shared library, which walks the
same trees about twice as fast. Compiling the panel's ~200 boosters takes minutes, so it is a
one-off step (``drugloop admet compile``) cached per panel file; without it, or without a C
compiler, the panel predicts with LightGBM exactly as before.

Missing values are where the two differ. TL2cgen reads an entry absent from a sparse row as
*missing*; LightGBM reads it as 0 and sends only NaN the missing-value way. So before
compiling, every numerical split that a 0 cannot reach as "missing" in LightGBM gets its
missing direction set to the side 0 goes: splits of missing type None (LightGBM never uses their
direction), and NaN-type splits on columns that are never NaN (count fingerprints). Columns
that may hold NaN (descriptors) are passed explicitly, zeros included. ``compile_boosters``
then checks the compiled libraries against LightGBM on real molecules and refuses to keep
them if a single prediction differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 2  # 2: stacked models read one shared first-stage layout (``stack_layout``)
_NAN_TYPE, _NONE_TYPE = 2, 0  # LightGBM decision_type bits 2-3: the missing-value type
_DEFAULT_LEFT = 2  # decision_type bit 1


def available() -> bool:
    """TL2cgen is installed and a C compiler is on the PATH."""
    try:
        import tl2cgen  # noqa: F401
        import treelite  # noqa: F401
    except ImportError:
        return False
    return shutil.which("gcc") is not None


def cache_root() -> Path:
    """``$DRUGLOOP_CACHE_DIR``, else ``$XDG_CACHE_HOME/drugloop``, else ``~/.cache/drugloop``."""
    if os.environ.get("DRUGLOOP_CACHE_DIR"):
        return Path(os.environ["DRUGLOOP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "drugloop"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def zero_directed_model(model_text: str, nan_free: np.ndarray) -> str:
    """LightGBM model text whose 0-reachable missing directions follow 0 (see module doc).

    For inputs with no NaN in ``nan_free`` columns LightGBM predicts the same numbers from the
    result as from ``model_text``: it ignores the direction of None-type splits and sends only
    NaN the missing way in NaN-type ones. Columns past ``nan_free`` (a stacked model's
    first-stage outputs) count as possibly NaN.
    """
    # without the per-tree byte sizes (which the edits change) LightGBM parses trees in order
    lines = [line for line in model_text.split("\n") if not line.startswith("tree_sizes=")]
    for i, line in enumerate(lines):
        if not line.startswith("decision_type="):
            continue
        tree = _tree_fields(lines, i)
        kinds = [int(t) for t in line.split("=", 1)[1].split()]
        features = [int(f) for f in tree["split_feature"].split()]
        thresholds = [float(t) for t in tree["threshold"].split()]
        for j, (kind, feature, threshold) in enumerate(
            zip(kinds, features, thresholds, strict=True)
        ):
            missing = (kind >> 2) & 3
            if kind & 1 or not (
                missing == _NONE_TYPE
                or (missing == _NAN_TYPE and feature < len(nan_free) and nan_free[feature])
            ):
                continue  # categorical, Zero-type, or a column that may be NaN: left as it is
            zero_left = threshold >= 0.0
            kinds[j] = kind | _DEFAULT_LEFT if zero_left else kind & ~_DEFAULT_LEFT
        lines[i] = "decision_type=" + " ".join(map(str, kinds))
    return "\n".join(lines)


def remapped_model(model_text: str, mapping: Mapping[int, int], n_columns: int) -> str:
    """LightGBM model text that reads column ``mapping[j]`` (``j`` if unmapped) where
    ``model_text`` read column ``j``, from inputs of ``n_columns`` columns.

    A stacked panel's endpoints each read the features then the other endpoints' first-stage
    outputs in their own order; remapped to one shared order they can all take one matrix.
    """
    out: list[str] = []
    importances = False  # per-name split counts under the old names: not needed to predict
    for line in model_text.split("\n"):
        importances = line.startswith("feature_importances:") or (importances and bool(line))
        if importances:
            continue
        key, _, value = line.partition("=")
        if key == "max_feature_idx":
            line = f"max_feature_idx={n_columns - 1}"
        elif key == "feature_names":
            line = "feature_names=" + " ".join(f"Column_{j}" for j in range(n_columns))
        elif key == "feature_infos":
            old = value.split()
            infos = ["none"] * n_columns
            for j, info in enumerate(old):
                infos[mapping.get(j, j)] = info
            line = "feature_infos=" + " ".join(infos)
        elif key == "split_feature":
            line = "split_feature=" + " ".join(
                str(mapping.get(int(j), int(j))) for j in value.split()
            )
        elif key == "tree_sizes":  # the edits change them; without, trees are read in order
            continue
        out.append(line)
    return "\n".join(out)


def _tree_fields(lines: list[str], at: int) -> dict[str, str]:
    """The ``key=value`` lines of the tree block around line ``at``."""
    start = at
    while start > 0 and not lines[start - 1].startswith("Tree="):
        start -= 1
    fields = {}
    for line in lines[start:]:
        if not line.strip():
            break
        key, _, value = line.partition("=")
        fields[key] = value
    return fields


@dataclass(frozen=True)
class CompiledTrees:
    """Loaded compiled libraries, one per booster key; ``explicit`` marks the columns to pass
    with their zeros."""

    predictors: dict[str, object]
    explicit: np.ndarray
    stack_layout: tuple[str, ...] = ()  # first-stage columns, in the order compiled models read

    @classmethod
    def load(cls, directory: Path, digest: str) -> CompiledTrees | None:
        """The libraries compiled for the panel file with SHA-256 ``digest``; None if absent,
        stale or unloadable (then the caller predicts with LightGBM)."""
        path = directory / MANIFEST
        if not path.exists() or not available():
            return None
        try:
            manifest = json.loads(path.read_text())
            if manifest.get("panel_sha256") != digest or manifest.get("format") != MANIFEST_FORMAT:
                return None
            return cls.from_manifest(directory, manifest)
        except Exception:  # noqa: BLE001 - missing/corrupt library (TL2cgenError), bad JSON…
            return None  # LightGBM still predicts the same numbers

    @classmethod
    def from_manifest(cls, directory: Path, manifest: dict) -> CompiledTrees:
        import tl2cgen

        predictors = {
            key: tl2cgen.Predictor(str(directory / lib), nthread=1)
            for key, lib in manifest["libraries"].items()
        }
        layout = tuple(manifest["stack_layout"])
        return cls(predictors, np.asarray(manifest["explicit"], dtype=bool), layout)

    def matrix(self, X: np.ndarray, extra_explicit: int = 0) -> object:
        """A TL2cgen DMatrix of ``X`` (float64): nonzeros, NaNs and every explicit column.

        ``extra_explicit`` columns past the features (a stacked model's first-stage outputs)
        are passed whole.
        """
        import tl2cgen
        from scipy import sparse

        explicit = np.r_[self.explicit, np.ones(extra_explicit, dtype=bool)]
        rows, cols = np.nonzero((X != 0) | explicit)  # NaN != 0: NaNs are kept
        indptr = np.zeros(len(X) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(X)), out=indptr[1:])
        csr = sparse.csr_matrix(
            (X[rows, cols].astype(np.float64), cols.astype(np.int32), indptr), shape=X.shape
        )
        # tl2cgen 1.0 asks numpy for these dtypes without a copy (an error under numpy 2)
        csr.indices = csr.indices.astype(np.uintc)
        csr.indptr = csr.indptr.astype(np.uintp)
        return tl2cgen.DMatrix(csr, dtype="float64")

    def predict(self, key: str, matrix: object) -> np.ndarray:
        return self.predictors[key].predict(matrix).reshape(-1)


def _generate_code(text: str, workdir: Path) -> Path:
    """C code for one LightGBM model text, in ``workdir`` (main thread: tl2cgen logs through a
    Python callback there and straight to stderr from other threads)."""
    import tl2cgen
    import treelite

    tl2cgen.libloader.print = lambda *args, **kwargs: None  # its INFO line per model
    workdir.mkdir(parents=True)
    (workdir / "model.txt").write_text(text)
    model = treelite.frontend.load_lightgbm_model(str(workdir / "model.txt"))
    tl2cgen.generate_c_code(model, workdir / "src", params={"parallel_comp": 4})
    return workdir / "src"


def _build(src: Path, lib: Path, options: list[str]) -> Path:
    """gcc the generated code into ``lib`` (threads suffice: the work is in gcc processes)."""
    import tl2cgen

    built = tl2cgen.create_shared(
        "gcc", src, nthread=1, options=options, long_build_time_warning=False
    )
    shutil.move(built, lib)
    return lib


def compile_boosters(
    models: Mapping[str, str],
    nan_free: np.ndarray,
    out: Path,
    digest: str,
    check: Callable[[CompiledTrees], None],
    jobs: int = 1,
    on_done: Callable[[], None] | None = None,
    options: tuple[str, ...] = ("-O1",),
    stack_layout: tuple[str, ...] = (),
) -> Path:
    """Compile LightGBM model texts (``key -> text``, already cut to the trees used) into
    ``out``; ``check`` must raise if the compiled libraries predict differently.

    The manifest is written last, after ``check`` passed: an interrupted or failed compile
    leaves no manifest, so nothing loads it.
    """
    if not available():
        raise RuntimeError("compiling the trees needs tl2cgen, treelite and gcc")
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    libraries = {key: f"{i:04d}.so" for i, key in enumerate(models)}
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max(1, jobs)) as pool:
        builds = [
            pool.submit(
                _build,
                _generate_code(zero_directed_model(text, nan_free), Path(tmp) / str(i)),
                out / libraries[key],
                list(options),
            )
            for i, (key, text) in enumerate(models.items())
        ]
        for build in builds:
            build.result()
            if on_done:
                on_done()
    manifest = {
        "format": MANIFEST_FORMAT,
        "panel_sha256": digest,
        "libraries": libraries,
        "explicit": (~nan_free).tolist(),
        "stack_layout": list(stack_layout),
    }
    check(CompiledTrees.from_manifest(out, manifest))
    (out / MANIFEST).write_text(json.dumps(manifest))
    return out
