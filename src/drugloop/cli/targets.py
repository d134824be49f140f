"""``drugloop targets``: rank and explain the targets for a disease."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from drugloop.cli.console import console, err_console, plain, user_errors

targets_app = typer.Typer(
    help="Target identification: rank a disease's targets with evidence.", no_args_is_help=True
)

DISEASE = typer.Option(..., "--disease", "-d", help="Disease name, synonym or DOID/UMLS/OMIM id.")


def _ranking(
    disease: str,
    aggregator: str,
    evidence: Path | None,
    evidence_weight: float,
    exclude_known: bool,
):
    from drugloop.targets import load_kb, rank_targets, read_user_evidence

    with console.status("loading evidence tables and ranking genes…"):
        kb = load_kb()
        user = read_user_evidence(evidence, kb.genes) if evidence else None
        if user is not None:
            _report_user(user)
        return rank_targets(
            disease,
            aggregator=aggregator,
            user_evidence=user,
            evidence_weight=evidence_weight,
            exclude_known_drug_targets=exclude_known,
            kb=kb,
        )


def _report_user(user) -> None:
    from drugloop.chem.io import write_rejects

    err_console.print(plain(user.summary()))
    if user.errors:
        for err in user.errors[:5]:
            err_console.print(plain(f"  skipped {err}"))
        rejects = Path(user.source).with_suffix(".rejects.csv")
        write_rejects(user.errors, rejects)
        err_console.print(plain(f"  all skipped rows: {rejects}"))


def _print_table(ranking, top: int) -> None:
    from drugloop.targets.rank import LABELS

    shown = ranking.top(top)
    channels = [c for c in LABELS if c in shown.columns]
    table = Table(
        title=plain(
            f"{ranking.disease}: top {len(shown)} targets ({ranking.aggregator} aggregator)"
        )
    )
    for col in ["rank", "gene", "score", *channels, "safety"]:
        table.add_column(col, justify="right" if col not in ("gene",) else "left")
    for row in shown.to_dict("records"):
        table.add_row(
            *[
                plain(f"{row[c]:.2f}" if isinstance(row[c], float) else row[c])
                for c in ["rank", "gene", "score", *channels, "safety"]
            ]
        )
    console.print(table)


@targets_app.command("rank")
@user_errors
def rank(
    disease: str = DISEASE,
    top: int = typer.Option(20, "--top", "-n", min=1, help="Rows to print and write."),
    out: Path | None = typer.Option(None, "--out", "-o", help="TSV of the ranked targets."),
    evidence: Path | None = typer.Option(
        None, "--evidence", help="Your evidence: gene[,score] | gene,log2fc,padj | gene,p."
    ),
    evidence_weight: float = typer.Option(1.0, "--evidence-weight", help="Weight of --evidence."),
    aggregator: str = typer.Option("learned", "--aggregator", help="learned | harmonic"),
    exclude_known: bool = typer.Option(
        False,
        "--exclude-known-drug-targets",
        help="Drop genes already hit by this disease's approved drugs.",
    ),
    report: Path | None = typer.Option(None, "--report", help="Write an HTML report here."),
) -> None:
    """Rank every gene for a disease; print the top and write TSV/HTML."""
    ranking = _ranking(disease, aggregator, evidence, evidence_weight, exclude_known)
    _print_table(ranking, top)
    if out is not None:
        ranking.to_tsv(out, top=top)
        console.print(plain(f"wrote {out} ({min(top, len(ranking.table))} rows)"))
    if report is not None:
        from drugloop.targets.report import write_report

        write_report(ranking, report, top=top)
        console.print(plain(f"wrote {report}"))


@targets_app.command("explain")
@user_errors
def explain(
    disease: str = DISEASE,
    gene: str = typer.Option(..., "--gene", "-g", help="Gene symbol or id."),
    aggregator: str = typer.Option("learned", "--aggregator", help="learned | harmonic"),
) -> None:
    """Why a gene ranks where it does: per-channel scores and the supporting records."""
    from drugloop.targets import explain_gene, load_kb

    symbol = load_kb().genes.to_symbol(gene) or gene
    ranking = _ranking(disease, aggregator, None, 1.0, False)
    row = ranking.row(symbol)
    console.print(plain(explain_gene(ranking, symbol)))
    scores = Table(title=plain(f"{symbol}: channel scores"))
    scores.add_column("channel")
    scores.add_column("score", justify="right")
    for col in ranking.table.columns:
        if col not in ("rank", "gene", "explanation"):
            scores.add_row(
                plain(col),
                plain(row[col] if not isinstance(row[col], float) else round(row[col], 3)),
            )
    console.print(scores)
    recs = ranking.supporting_records(symbol, per_channel=5)
    table = Table(title="supporting records")
    for col in ("channel", "source", "detail", "score"):
        table.add_column(col)
    for r in recs.to_dict("records"):
        table.add_row(
            plain(r["channel"]),
            plain(r["source"]),
            plain(r["detail"]),
            plain(round(float(r["score"]), 3)),
        )
    console.print(table)
