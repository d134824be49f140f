"""ORM models of the project store (SQLAlchemy 2.0 declarative, portable SQLite/PostgreSQL).

Only portable types are used (``JSON``, ``Float``, ``Text``…) so that one schema serves a local
SQLite file and a shared PostgreSQL server alike. Compounds are the hub: every measurement,
prediction, design and order points at one standardized structure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROUND_STATUSES = ("proposed", "ordered", "complete")
ORDER_STATUSES = ("ordered", "measured", "failed")
ORDER_DECISIONS = ("auto", "pinned", "added")
CHEMIST_DECISIONS = ("pinned", "vetoed", "added", "veto_lifted")
REG_ID_PREFIX = "DL-"


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_reg_id(compound_id: int) -> str:
    """Registry id derived from the primary key, so it never changes once assigned."""
    return f"{REG_ID_PREFIX}{compound_id:07d}"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Compound(Base):
    __tablename__ = "compounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    # filled right after the insert (it is derived from ``id``); NULL only inside that transaction
    reg_id: Mapped[str | None] = mapped_column(String(16), unique=True)
    smiles: Mapped[str] = mapped_column(Text, unique=True)
    inchikey: Mapped[str | None] = mapped_column(String(27), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportBatch(Base):
    __tablename__ = "import_batches"
    __table_args__ = (UniqueConstraint("kind", "sha256", name="uq_import_batches_kind_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source_file: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    n_rows: Mapped[int] = mapped_column(default=0)
    n_added: Mapped[int] = mapped_column(default=0)
    n_duplicates: Mapped[int] = mapped_column(default=0)
    n_rejected: Mapped[int] = mapped_column(default=0)
    options: Mapped[dict[str, Any] | None]


class Measurement(Base):
    __tablename__ = "measurements"
    __table_args__ = (
        UniqueConstraint("batch_id", "source_row", name="uq_measurements_batch_row"),
        Index("ix_measurements_compound_assay", "compound_id", "assay_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    assay_id: Mapped[str] = mapped_column(String(200), index=True)
    value_raw: Mapped[str | None] = mapped_column(Text)
    unit_raw: Mapped[str | None] = mapped_column(String(64))
    qualifier: Mapped[str] = mapped_column(String(2), default="=")
    value: Mapped[float | None]
    unit: Mapped[str | None] = mapped_column(String(64))
    pactivity: Mapped[float | None]
    replicate: Mapped[str | None] = mapped_column(String(64))
    measured_at: Mapped[str | None] = mapped_column(String(64))
    source_file: Mapped[str] = mapped_column(Text)
    source_row: Mapped[int]
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    # hash of (structure, assay, qualifier, value, unit, replicate, date): a measurement already
    # stored from another file is recognised as a duplicate without comparing floats in SQL
    dedup_key: Mapped[str] = mapped_column(String(64), index=True)


class Prediction(Base):
    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    model_version: Mapped[str] = mapped_column(String(200))
    mean: Mapped[float | None]
    std: Mapped[float | None]
    in_domain: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    config: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Design(Base):
    __tablename__ = "designs"

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    generator: Mapped[str] = mapped_column(String(200))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    round_index: Mapped[int | None]
    score: Mapped[float | None]
    details: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CampaignRound(Base):
    __tablename__ = "campaign_rounds"
    __table_args__ = (
        UniqueConstraint("campaign_id", "index", name="uq_campaign_rounds_campaign_index"),
        CheckConstraint(_in("status", ROUND_STATUSES), name="ck_campaign_rounds_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    index: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    order_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Order(Base):
    """One compound ordered (or proposed for ordering) in one campaign round."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("round_id", "compound_id", name="uq_orders_round_compound"),
        CheckConstraint(_in("status", ORDER_STATUSES), name="ck_orders_status"),
        CheckConstraint(_in("decision", ORDER_DECISIONS), name="ck_orders_decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("campaign_rounds.id"), index=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    acquisition_score: Mapped[float | None]
    predicted_mean: Mapped[float | None]
    predicted_std: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(200), default="pool")
    status: Mapped[str] = mapped_column(String(16), default="ordered")
    decision: Mapped[str] = mapped_column(String(16), default="auto")


class CampaignDecision(Base):
    """A chemist's pin, veto, addition or lifted veto in a campaign round: who, why and when.

    Vetoes outlive their round: a vetoed compound is never proposed again in that campaign,
    until a ``veto_lifted`` row (the veto itself is kept, so the audit trail stays whole).
    """

    __tablename__ = "campaign_decisions"
    __table_args__ = (
        CheckConstraint(_in("decision", CHEMIST_DECISIONS), name="ck_campaign_decisions_decision"),
        Index("ix_campaign_decisions_campaign", "campaign_id", "round_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    round_index: Mapped[int]
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
