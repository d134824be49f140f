"""The project store: compounds, assay measurements, predictions, designs and campaigns.

One SQL database (a local SQLite file, or PostgreSQL for a shared project) is the memory of a
project. Every compound gets a stable registry id (``DL-0000001``), every measurement keeps its
provenance (file, row, import batch), and imports are idempotent: the same file imported twice,
or the same measurement arriving in a second file, is stored once. Each import runs in a single
transaction so that a failure half-way leaves the store exactly as it was.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
from rdkit import Chem
from sqlalchemy import URL, Engine, create_engine, event, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from drugloop.chem.io import InputFileError, rejects_path_for, write_rejects
from drugloop.data.assays import read_assay_table
from drugloop.data.schema import (
    CHEMIST_DECISIONS,
    ORDER_DECISIONS,
    ORDER_STATUSES,
    ROUND_STATUSES,
    Base,
    Campaign,
    CampaignDecision,
    CampaignRound,
    Compound,
    Design,
    ImportBatch,
    Measurement,
    Order,
    Prediction,
    format_reg_id,
)

ENV_DATABASE_URL = "DRUGLOOP_DATABASE_URL"
# bound parameters per IN (...) query: well under SQLite's and PostgreSQL's limits
_CHUNK = 900

MEASUREMENT_COLUMNS = [
    "reg_id",
    "smiles",
    "inchikey",
    "assay_id",
    "qualifier",
    "value",
    "unit",
    "pactivity",
    "replicate",
    "date",
    "source_file",
    "source_row",
    "batch_id",
    "value_raw",
    "unit_raw",
]
ORDER_INPUT_COLUMNS = ["smiles", "acquisition_score", "predicted_mean", "predicted_std", "source"]
ORDER_COLUMNS = [
    "round",
    "reg_id",
    "smiles",
    "source",
    "decision",
    "status",
    "acquisition_score",
    "predicted_mean",
    "predicted_std",
    "round_status",
]
DECISION_COLUMNS = ["round", "reg_id", "smiles", "decision", "reason", "user", "created_at"]


class StoreError(ValueError):
    """A store request that cannot be satisfied (unknown campaign, bad status, bad input)."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did; ``already_imported`` means the same bytes were imported before."""

    batch_id: int
    source: str
    n_rows: int
    n_added: int
    n_duplicates: int
    n_rejected: int
    rejects_path: Path | None
    already_imported: bool = False

    def __str__(self) -> str:
        if self.already_imported:
            return f"{self.source}: already imported (batch {self.batch_id}); nothing added"
        text = (
            f"{self.source}: {self.n_rows} rows, {self.n_added} added, "
            f"{self.n_duplicates} duplicates, {self.n_rejected} rejected (batch {self.batch_id})"
        )
        return text + (f"; rejects in {self.rejects_path}" if self.rejects_path else "")


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    config: dict[str, Any]
    created_at: datetime


# ----------------------------------------------------------------------------- value cleaning


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists/arrays are not "missing"
        return False


def _float(value: object) -> float | None:
    return None if _missing(value) else float(value)  # type: ignore[arg-type]


def _bool(value: object) -> bool | None:
    return None if _missing(value) else bool(value)


def _text(value: object) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))  # replicate 1.0 (a float column with gaps) is replicate "1"
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def _num_key(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.12g}"


def measurement_key(
    smiles: str,
    assay_id: str,
    qualifier: str,
    value: float | None,
    unit: str | None,
    replicate: str | None,
    date: str | None,
) -> str:
    """Identity of a measurement regardless of which file it came from (for de-duplication)."""
    parts = [smiles, assay_id, qualifier, _num_key(value), unit or "", replicate or "", date or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _frame_sha256(df: pd.DataFrame) -> str:
    return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()


def _jsonable(options: Mapping[str, Any]) -> dict[str, Any]:
    """Import options as JSON (objects such as a Standardizer are recorded by class name)."""
    simple = (str, int, float, bool, type(None))
    return {k: v if isinstance(v, simple) else type(v).__name__ for k, v in options.items()}


def _inchikey_of(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise StoreError(f"cannot register {smiles!r}: not a valid SMILES")
    return Chem.MolToInchiKey(mol) or ""


def _same_length(**columns: Sequence[Any] | None) -> int:
    lengths = {name: len(col) for name, col in columns.items() if col is not None}
    if len(set(lengths.values())) > 1:
        raise StoreError(f"sequences must have the same length, got {lengths}")
    return next(iter(lengths.values()), 0)


_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/(/?)")


def _database_url(url_or_path: str | Path) -> str | URL:
    """A SQLAlchemy URL as given, or a SQLite URL for a file path (parent folders created)."""
    text = str(url_or_path)
    scheme = _URL_SCHEME.match(text)
    if scheme and not scheme.group(2):
        # pathlib.Path("postgresql://host/db") collapses "//" to "/": undo it for server URLs;
        # for sqlite the original number of slashes (relative or absolute) cannot be recovered
        if scheme.group(1).startswith("sqlite"):
            raise StoreError(f"{text!r} looks like a mangled sqlite URL; pass the file path")
        text = f"{scheme.group(1)}://{text[scheme.end() :]}"
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return URL.create("sqlite", database=str(path))


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


# ----------------------------------------------------------------------------- the store


class ProjectStore:
    """Typed access to a project's database; the CLI and the campaign layer go through this.

    ``ProjectStore("project.db")`` opens (creating if needed) a SQLite file;
    ``ProjectStore("postgresql+psycopg://user@host/db")`` a PostgreSQL database.
    """

    def __init__(self, url_or_path: str | Path) -> None:
        url = _database_url(url_or_path)
        self.url = url.render_as_string(hide_password=True) if isinstance(url, URL) else url
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _enable_sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_env_or_path(cls, path: str | Path | None = None) -> ProjectStore:
        """``$DRUGLOOP_DATABASE_URL`` when set (a shared server), else the given path or URL."""
        target = os.environ.get(ENV_DATABASE_URL) or path
        if not target:
            raise StoreError(f"no project database: pass a path or set ${ENV_DATABASE_URL}")
        return cls(target)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProjectStore({self.url!r})"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed if the block succeeds, rolled back on any exception."""
        with self._sessions.begin() as session:
            yield session

    # ------------------------------------------------------------------------- compounds

    def register(
        self, smiles: Sequence[str], inchikeys: Sequence[str | None] | None = None
    ) -> dict[str, str]:
        """Canonical SMILES → registry id, inserting compounds not seen before.

        ``smiles`` must already be standardized (see :class:`drugloop.chem.Standardizer`). Pass
        ``inchikeys`` when you have them: computing them is the slow part for new compounds.
        """
        with self.session() as session:
            ids = self._register(session, smiles, inchikeys)
        return {smi: reg_id for smi, (_, reg_id) in ids.items()}

    def _register(
        self,
        session: Session,
        smiles: Sequence[str],
        inchikeys: Sequence[str | None] | None = None,
    ) -> dict[str, tuple[int, str]]:
        """Batch get-or-create inside ``session``: SMILES → (compound id, reg id)."""
        _same_length(smiles=smiles, inchikeys=inchikeys)
        keys = dict(zip(smiles, inchikeys, strict=True)) if inchikeys is not None else {}
        unique = list(dict.fromkeys(smiles))
        for smi in unique:
            if not isinstance(smi, str) or not smi.strip():
                raise StoreError(f"cannot register {smi!r}: not a SMILES string")
        found: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(unique):
            query = select(Compound.id, Compound.reg_id, Compound.smiles)
            for id_, reg_id, smi in session.execute(query.where(Compound.smiles.in_(chunk))):
                found[smi] = (id_, reg_id)
        missing = [smi for smi in unique if smi not in found]
        if missing:
            rows = [{"smiles": s, "inchikey": keys.get(s) or _inchikey_of(s)} for s in missing]
            # rows come back with their SMILES, so their order does not matter
            stmt = insert(Compound).returning(Compound.id, Compound.smiles)
            new = session.execute(stmt, rows).all()
            session.execute(
                update(Compound), [{"id": i, "reg_id": format_reg_id(i)} for i, _ in new]
            )
            found.update({smi: (i, format_reg_id(i)) for i, smi in new})
        return found

    def compounds_frame(self) -> pd.DataFrame:
        query = select(Compound.reg_id, Compound.smiles, Compound.inchikey).order_by(Compound.id)
        with self.session() as session:
            rows = session.execute(query).all()
        return pd.DataFrame(rows, columns=["reg_id", "smiles", "inchikey"])

    def lookup_reg_ids(self, reg_ids: Iterable[str]) -> dict[str, str]:
        """Registry id → SMILES for the ids that exist (unknown ids are simply absent)."""
        wanted = list(dict.fromkeys(reg_ids))
        result: dict[str, str] = {}
        with self.session() as session:
            for chunk in _chunks(wanted):
                query = select(Compound.reg_id, Compound.smiles).where(Compound.reg_id.in_(chunk))
                result.update({reg_id: smi for reg_id, smi in session.execute(query)})
        return result

    # ------------------------------------------------------------------------- measurements

    def import_assay_file(self, path: str | Path, **read_options: Any) -> ImportReport:
        """Read an assay table (see :func:`drugloop.data.assays.read_assay_table`) and store it.

        Rows that cannot be used are written to ``<name>.rejects.csv`` beside the input and the
        rest is imported in one transaction. Importing the same bytes again adds nothing.
        """
        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"{path}: file not found")
        digest = file_sha256(path)
        with self.session() as session:
            previous = self._batch_by_hash(session, "assay", digest)
            if previous is not None:
                return _already_imported(previous, str(path))
        result = read_assay_table(path, **read_options)
        rejects = None
        if result.rejects:
            rejects = write_rejects(result.rejects, rejects_path_for(path))
        return self.add_measurements(
            result.measurements,
            kind="assay",
            source_file=str(path),
            sha256=digest,
            n_rows=result.n_rows,
            n_rejected=len(result.rejects),
            options=_jsonable(read_options),
            rejects_path=rejects,
        )

    def add_measurements(
        self,
        df: pd.DataFrame,
        kind: str,
        source_file: str,
        sha256: str | None = None,
        *,
        n_rows: int | None = None,
        n_rejected: int = 0,
        options: Mapping[str, Any] | None = None,
        rejects_path: Path | None = None,
    ) -> ImportReport:
        """Store measurement rows (standardized ``smiles`` plus the assay columns) as one batch.

        ``sha256`` identifies the batch's source (defaults to a hash of ``df``): a batch of the
        same ``kind`` and hash is never imported twice, and measurements identical to stored
        ones (same compound, assay, qualifier, value, unit, replicate and date) are skipped.
        """
        rows = _measurement_rows(df, source_file)
        digest = sha256 or _frame_sha256(df)
        with self.session() as session:
            previous = self._batch_by_hash(session, kind, digest)
            if previous is not None:
                return _already_imported(previous, source_file)
            batch = ImportBatch(
                kind=kind,
                source_file=source_file,
                sha256=digest,
                n_rows=len(df) + n_rejected if n_rows is None else n_rows,
                n_rejected=n_rejected,
                options=dict(options or {}),
            )
            session.add(batch)
            session.flush()
            inchikeys = [row.pop("inchikey") for row in rows]
            compounds = self._register(session, [row["smiles"] for row in rows], inchikeys)
            new_rows = self._drop_known(session, rows)
            for row in new_rows:
                row["compound_id"] = compounds[row.pop("smiles")][0]
                row["batch_id"] = batch.id
            self._insert_measurements(session, new_rows)
            batch.n_added = len(new_rows)
            batch.n_duplicates = len(rows) - len(new_rows)
        return ImportReport(
            batch_id=batch.id,
            source=source_file,
            n_rows=batch.n_rows,
            n_added=batch.n_added,
            n_duplicates=batch.n_duplicates,
            n_rejected=n_rejected,
            rejects_path=rejects_path,
        )

    @staticmethod
    def _batch_by_hash(session: Session, kind: str, digest: str) -> ImportBatch | None:
        query = select(ImportBatch).where(ImportBatch.kind == kind, ImportBatch.sha256 == digest)
        return session.scalars(query).one_or_none()

    @staticmethod
    def _drop_known(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows whose measurement is neither stored already nor repeated earlier in ``rows``."""
        keys = list(dict.fromkeys(r["dedup_key"] for r in rows))
        seen: set[str] = set()
        for chunk in _chunks(keys):
            query = select(Measurement.dedup_key).where(Measurement.dedup_key.in_(chunk))
            seen.update(session.scalars(query))
        fresh = []
        for row in rows:
            if row["dedup_key"] not in seen:
                seen.add(row["dedup_key"])
                fresh.append(row)
        return fresh

    @staticmethod
    def _insert_measurements(session: Session, rows: list[dict[str, Any]]) -> None:
        if rows:
            session.execute(insert(Measurement), rows)

    def measurements_frame(self, assay_id: str | None = None) -> pd.DataFrame:
        """All stored measurements (optionally of one assay), with compound identity."""
        query = (
            select(
                Compound.reg_id,
                Compound.smiles,
                Compound.inchikey,
                Measurement.assay_id,
                Measurement.qualifier,
                Measurement.value,
                Measurement.unit,
                Measurement.pactivity,
                Measurement.replicate,
                Measurement.measured_at,
                Measurement.source_file,
                Measurement.source_row,
                Measurement.batch_id,
                Measurement.value_raw,
                Measurement.unit_raw,
            )
            .join(Compound, Measurement.compound_id == Compound.id)
            .order_by(Measurement.id)
        )
        if assay_id is not None:
            query = query.where(Measurement.assay_id == assay_id)
        with self.session() as session:
            rows = session.execute(query).all()
        frame = pd.DataFrame(rows, columns=MEASUREMENT_COLUMNS)
        frame = frame.astype({"value": float, "pactivity": float})
        for column in ("replicate", "date"):  # optional text: None when absent, as in assays
            position = MEASUREMENT_COLUMNS.index(column)
            frame[column] = pd.Series([r[position] for r in rows], index=frame.index, dtype=object)
        return frame

    def batches_frame(self) -> pd.DataFrame:
        """Import history: one row per batch, with its counts."""
        columns = ["batch_id", "kind", "source_file", "sha256", "created_at", "n_rows", "n_added"]
        columns += ["n_duplicates", "n_rejected"]
        query = select(
            ImportBatch.id,
            ImportBatch.kind,
            ImportBatch.source_file,
            ImportBatch.sha256,
            ImportBatch.created_at,
            ImportBatch.n_rows,
            ImportBatch.n_added,
            ImportBatch.n_duplicates,
            ImportBatch.n_rejected,
        ).order_by(ImportBatch.id)
        with self.session() as session:
            return pd.DataFrame(session.execute(query).all(), columns=columns)

    # ------------------------------------------------------------------------- predictions, designs

    def add_predictions(
        self,
        model_name: str,
        model_version: str,
        smiles: Sequence[str],
        mean: Sequence[float],
        std: Sequence[float | None] | None = None,
        in_domain: Sequence[bool | None] | None = None,
    ) -> int:
        """Record model predictions (registering the compounds); returns the number stored."""
        n = _same_length(smiles=smiles, mean=mean, std=std, in_domain=in_domain)
        with self.session() as session:
            ids = self._register(session, smiles)
            rows = [
                {
                    "compound_id": ids[smiles[i]][0],
                    "model_name": model_name,
                    "model_version": model_version,
                    "mean": _float(mean[i]),
                    "std": None if std is None else _float(std[i]),
                    "in_domain": None if in_domain is None else _bool(in_domain[i]),
                }
                for i in range(n)
            ]
            if rows:
                session.execute(insert(Prediction), rows)
        return n

    def predictions_frame(self, model_name: str | None = None) -> pd.DataFrame:
        columns = ["reg_id", "smiles", "model_name", "model_version", "mean", "std", "in_domain"]
        query = (
            select(
                Compound.reg_id,
                Compound.smiles,
                Prediction.model_name,
                Prediction.model_version,
                Prediction.mean,
                Prediction.std,
                Prediction.in_domain,
            )
            .join(Compound, Prediction.compound_id == Compound.id)
            .order_by(Prediction.id)
        )
        if model_name is not None:
            query = query.where(Prediction.model_name == model_name)
        with self.session() as session:
            frame = pd.DataFrame(session.execute(query).all(), columns=columns)
        return frame.astype({"mean": float, "std": float})

    def add_designs(
        self,
        generator: str,
        smiles: Sequence[str],
        scores: Sequence[float | None] | None = None,
        campaign: str | None = None,
        round_index: int | None = None,
        details: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> int:
        """Record generated designs (registering the compounds); returns the number stored."""
        n = _same_length(smiles=smiles, scores=scores, details=details)
        with self.session() as session:
            campaign_id = self._campaign(session, campaign).id if campaign is not None else None
            ids = self._register(session, smiles)
            rows = [
                {
                    "compound_id": ids[smiles[i]][0],
                    "generator": generator,
                    "campaign_id": campaign_id,
                    "round_index": round_index,
                    "score": None if scores is None else _float(scores[i]),
                    "details": None if details is None or details[i] is None else dict(details[i]),
                }
                for i in range(n)
            ]
            if rows:
                session.execute(insert(Design), rows)
        return n

    def designs_frame(self, campaign: str | None = None) -> pd.DataFrame:
        columns = ["reg_id", "smiles", "generator", "campaign", "round_index", "score", "details"]
        query = (
            select(
                Compound.reg_id,
                Compound.smiles,
                Design.generator,
                Campaign.name,
                Design.round_index,
                Design.score,
                Design.details,
            )
            .join(Compound, Design.compound_id == Compound.id)
            .outerjoin(Campaign, Design.campaign_id == Campaign.id)
            .order_by(Design.id)
        )
        if campaign is not None:
            query = query.where(Campaign.name == campaign)
        with self.session() as session:
            frame = pd.DataFrame(session.execute(query).all(), columns=columns)
        return frame.astype({"score": float})

    # ------------------------------------------------------------------------- campaigns

    def create_campaign(self, name: str, config: Mapping[str, Any]) -> int:
        with self.session() as session:
            exists = session.scalar(select(Campaign.id).where(Campaign.name == name))
            if exists is not None:
                raise StoreError(f"campaign {name!r} already exists; choose another name")
            campaign = Campaign(name=name, config=dict(config))
            session.add(campaign)
            session.flush()
            return campaign.id

    def get_campaign(self, name: str) -> CampaignInfo:
        with self.session() as session:
            return _campaign_info(self._campaign(session, name))

    def list_campaigns(self) -> list[CampaignInfo]:
        with self.session() as session:
            campaigns = session.scalars(select(Campaign).order_by(Campaign.id)).all()
            return [_campaign_info(c) for c in campaigns]

    def add_round(
        self,
        campaign_name: str,
        index: int,
        orders: pd.DataFrame,
        decisions: Sequence[tuple[str, str, str | None, str | None]] = (),
    ) -> int:
        """Record a proposed round and its orders (compounds are registered); returns its id.

        ``decisions`` — (smiles, pinned/vetoed/added, reason, user) — are stored in the same
        transaction, so a round never exists without the chemist choices that shaped it.
        """
        missing = [c for c in ORDER_INPUT_COLUMNS if c not in orders.columns]
        if missing:
            raise StoreError(f"orders lack columns {missing}; they have {list(orders.columns)}")
        repeated = orders["smiles"][orders["smiles"].duplicated()].tolist()
        if repeated:
            raise StoreError(f"round {index} orders the same compound twice: {repeated[:5]}")
        marks = orders["decision"] if "decision" in orders.columns else ["auto"] * len(orders)
        marks = [_check(str(d), ORDER_DECISIONS, "order decision") for d in marks]
        with self.session() as session:
            campaign = self._campaign(session, campaign_name)
            taken = session.scalar(
                select(CampaignRound.id).where(
                    CampaignRound.campaign_id == campaign.id, CampaignRound.index == index
                )
            )
            if taken is not None:
                raise StoreError(f"campaign {campaign_name!r} already has a round {index}")
            round_ = CampaignRound(campaign_id=campaign.id, index=int(index), status="proposed")
            session.add(round_)
            session.flush()
            smiles = orders["smiles"].tolist()
            ids = self._register(session, smiles)
            records = orders.to_dict("records")
            rows = [
                {
                    "round_id": round_.id,
                    "compound_id": ids[rec["smiles"]][0],
                    "acquisition_score": _float(rec["acquisition_score"]),
                    "predicted_mean": _float(rec["predicted_mean"]),
                    "predicted_std": _float(rec["predicted_std"]),
                    "source": _text(rec["source"]) or "pool",
                    "status": "ordered",
                    "decision": decision,
                }
                for rec, decision in zip(records, marks, strict=True)
            ]
            if rows:
                session.execute(insert(Order), rows)
            self._insert_decisions(session, campaign, index, decisions)
            return round_.id

    def add_decisions(
        self,
        campaign_name: str,
        round_index: int,
        decisions: Sequence[tuple[str, str, str | None, str | None]],
    ) -> int:
        """Record chemist decisions — (smiles, pinned/vetoed/added, reason, user) — for a round."""
        with self.session() as session:
            campaign = self._campaign(session, campaign_name)
            return self._insert_decisions(session, campaign, round_index, decisions)

    def _insert_decisions(
        self,
        session: Session,
        campaign: Campaign,
        round_index: int,
        decisions: Sequence[tuple[str, str, str | None, str | None]],
    ) -> int:
        for smiles, decision, _, _ in decisions:
            _check(str(decision), CHEMIST_DECISIONS, f"chemist decision for {smiles}")
        if not decisions:
            return 0
        ids = self._register(session, [d[0] for d in decisions])
        rows = [
            {
                "campaign_id": campaign.id,
                "round_index": int(round_index),
                "compound_id": ids[smiles][0],
                "decision": decision,
                "reason": _text(reason),
                "decided_by": _text(user),
            }
            for smiles, decision, reason, user in decisions
        ]
        session.execute(insert(CampaignDecision), rows)
        return len(rows)

    def decisions_frame(self, campaign_name: str) -> pd.DataFrame:
        """Chemist decisions of a campaign in the order they were made."""
        with self.session() as session:
            campaign = self._campaign(session, campaign_name)
            query = (
                select(
                    CampaignDecision.round_index,
                    Compound.reg_id,
                    Compound.smiles,
                    CampaignDecision.decision,
                    CampaignDecision.reason,
                    CampaignDecision.decided_by,
                    CampaignDecision.created_at,
                )
                .join(Compound, CampaignDecision.compound_id == Compound.id)
                .where(CampaignDecision.campaign_id == campaign.id)
                .order_by(CampaignDecision.id)
            )
            rows = session.execute(query).all()
        frame = pd.DataFrame(rows, columns=DECISION_COLUMNS)
        # SQLite hands back naive datetimes (stored as UTC), PostgreSQL its session time zone
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        return frame

    def set_round_status(
        self, campaign_name: str, index: int, status: str, order_file: str | Path | None = None
    ) -> None:
        _check(status, ROUND_STATUSES, "round status")
        with self.session() as session:
            round_ = self._round(session, self._campaign(session, campaign_name), index)
            round_.status = status
            if order_file is not None:
                round_.order_file = str(order_file)

    def rounds_frame(self, campaign_name: str) -> pd.DataFrame:
        """One row per round: index, status, order file and how many orders are in each state."""
        with self.session() as session:
            campaign = self._campaign(session, campaign_name)
            rounds = session.scalars(
                select(CampaignRound)
                .where(CampaignRound.campaign_id == campaign.id)
                .order_by(CampaignRound.index)
            ).all()
            states = session.execute(
                select(Order.round_id, Order.status)
                .join(CampaignRound, Order.round_id == CampaignRound.id)
                .where(CampaignRound.campaign_id == campaign.id)
            ).all()
        records = []
        for r in rounds:
            statuses = [status for round_id, status in states if round_id == r.id]
            records.append(
                {
                    "index": r.index,
                    "status": r.status,
                    "order_file": r.order_file,
                    "created_at": r.created_at,
                    "n_orders": len(statuses),
                    **{f"n_{s}": statuses.count(s) for s in ORDER_STATUSES},
                }
            )
        columns = ["index", "status", "order_file", "created_at", "n_orders"]
        return pd.DataFrame(records, columns=columns + [f"n_{s}" for s in ORDER_STATUSES])

    def orders_frame(self, campaign_name: str, index: int | None = None) -> pd.DataFrame:
        """Orders of a campaign (or of one round), in round then insertion order."""
        with self.session() as session:
            campaign = self._campaign(session, campaign_name)
            query = (
                select(
                    CampaignRound.index,
                    Compound.reg_id,
                    Compound.smiles,
                    Order.source,
                    Order.decision,
                    Order.status,
                    Order.acquisition_score,
                    Order.predicted_mean,
                    Order.predicted_std,
                    CampaignRound.status,
                )
                .join(CampaignRound, Order.round_id == CampaignRound.id)
                .join(Compound, Order.compound_id == Compound.id)
                .where(CampaignRound.campaign_id == campaign.id)
                .order_by(CampaignRound.index, Order.id)
            )
            if index is not None:
                self._round(session, campaign, index)  # clear error for an unknown round
                query = query.where(CampaignRound.index == index)
            rows = session.execute(query).all()
        frame = pd.DataFrame(rows, columns=ORDER_COLUMNS)
        return frame.astype({c: float for c in ORDER_COLUMNS[6:9]})

    def set_order_status(
        self, campaign_name: str, reg_ids: Iterable[str], status: str, index: int | None = None
    ) -> int:
        """Mark ordered compounds measured/failed; returns how many orders changed.

        Without ``index`` the latest round that ordered each compound is updated.
        """
        _check(status, ORDER_STATUSES, "order status")
        wanted = list(dict.fromkeys(reg_ids))
        with self.session() as session:
            campaign = self._campaign(session, campaign_name)
            query = (
                select(Order, Compound.reg_id, CampaignRound.index)
                .join(CampaignRound, Order.round_id == CampaignRound.id)
                .join(Compound, Order.compound_id == Compound.id)
                .where(CampaignRound.campaign_id == campaign.id)
                .order_by(CampaignRound.index)
            )
            if index is not None:
                query = query.where(CampaignRound.index == index)
            latest: dict[str, Order] = {}
            for chunk in _chunks(wanted):
                for order, reg_id, _ in session.execute(query.where(Compound.reg_id.in_(chunk))):
                    latest[reg_id] = order  # ordered by round: the last one wins
            unknown = [r for r in wanted if r not in latest]
            if unknown:
                where = f"round {index} of " if index is not None else ""
                raise StoreError(
                    f"not ordered in {where}campaign {campaign_name!r}: {unknown[:10]}"
                )
            for order in latest.values():
                order.status = status
        return len(latest)

    @staticmethod
    def _campaign(session: Session, name: str) -> Campaign:
        campaign = session.scalars(select(Campaign).where(Campaign.name == name)).one_or_none()
        if campaign is None:
            names = session.scalars(select(Campaign.name).order_by(Campaign.name)).all()
            known = ", ".join(names) if names else "none yet"
            raise StoreError(f"no campaign named {name!r}; existing campaigns: {known}")
        return campaign

    @staticmethod
    def _round(session: Session, campaign: Campaign, index: int) -> CampaignRound:
        query = select(CampaignRound).where(
            CampaignRound.campaign_id == campaign.id, CampaignRound.index == index
        )
        round_ = session.scalars(query).one_or_none()
        if round_ is None:
            indices = session.scalars(
                select(CampaignRound.index)
                .where(CampaignRound.campaign_id == campaign.id)
                .order_by(CampaignRound.index)
            ).all()
            known = list(indices) or "none"
            raise StoreError(f"campaign {campaign.name!r} has no round {index}; rounds: {known}")
        return round_


# ----------------------------------------------------------------------------- helpers


def _check(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise StoreError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
    return value


def _campaign_info(campaign: Campaign) -> CampaignInfo:
    return CampaignInfo(campaign.id, campaign.name, dict(campaign.config), campaign.created_at)


def _already_imported(batch: ImportBatch, source: str) -> ImportReport:
    return ImportReport(
        batch_id=batch.id,
        source=source,
        n_rows=batch.n_rows,
        n_added=0,
        n_duplicates=batch.n_added + batch.n_duplicates,
        n_rejected=batch.n_rejected,
        rejects_path=None,
        already_imported=True,
    )


def _measurement_rows(df: pd.DataFrame, source_file: str) -> list[dict[str, Any]]:
    """DataFrame rows → measurement insert rows (plus ``smiles``/``inchikey`` for registration)."""
    if "smiles" not in df.columns:
        raise StoreError(
            f"{source_file}: measurements need a 'smiles' column; got {list(df.columns)}"
        )
    records = df.to_dict("records")
    rows = []
    for position, rec in enumerate(records, start=1):
        smiles = _text(rec.get("smiles"))
        if not smiles:
            raise StoreError(f"{source_file}: row {position} has no SMILES")
        row = {
            "smiles": smiles,
            "inchikey": _text(rec.get("inchikey")),
            "assay_id": _text(rec.get("assay_id")) or "assay",
            "value_raw": _text(rec.get("value_raw")),
            "unit_raw": _text(rec.get("unit_raw")),
            "qualifier": _text(rec.get("qualifier")) or "=",
            "value": _float(rec.get("value")),
            "unit": _text(rec.get("unit")),
            "pactivity": _float(rec.get("pactivity")),
            "replicate": _text(rec.get("replicate")),
            "measured_at": _text(rec.get("date")),
            "source_file": _text(rec.get("source_file")) or source_file,
            "source_row": position if _missing(rec.get("source_row")) else int(rec["source_row"]),
        }
        row["dedup_key"] = measurement_key(
            smiles,
            row["assay_id"],
            row["qualifier"],
            row["value"],
            row["unit"],
            row["replicate"],
            row["measured_at"],
        )
        rows.append(row)
    source_rows = pd.Series([r["source_row"] for r in rows])
    repeated = source_rows[source_rows.duplicated()].tolist()
    if repeated:
        raise StoreError(f"{source_file}: source_row values repeat: {repeated[:10]}")
    return rows
