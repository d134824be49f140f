"""``drugloop campaign …``: simulate, init, propose, import, status."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from drugloop.cli.console import console, plain, progress_bar, user_errors
from drugloop.cli.data import PROJECT_OPTION

campaign_app = typer.Typer(help="Design–make–test–analyze campaigns.", no_args_is_help=True)


@campaign_app.command("simulate")
@user_errors
def simulate(
    pool: Path = typer.Option(..., help="Candidate pool (CSV with a SMILES column)."),
    oracle: Path = typer.Option(..., help="Look-up 'lab': measured value per pool molecule."),
    smiles_col: str = typer.Option("smiles", help="SMILES column in both files."),
    score_col: str = typer.Option("score", help="Value column in the oracle file."),
    minimize: bool = typer.Option(False, help="Lower values are better (e.g. docking scores)."),
    init_frac: float = typer.Option(0.01, help="Initial random batch, fraction of the pool."),
    batch_frac: float = typer.Option(0.01, help="Each later batch, fraction of the pool."),
    rounds: int = typer.Option(5, help="Model-guided rounds after the initial batch."),
    seed: int = typer.Option(0),
    model: str | None = typer.Option(
        None, help="Surrogate model: gp, rf, lgbm, mlp (default: the benchmarked default)."
    ),
    acquisition: str | None = typer.Option(
        None,
        help="Acquisition function: greedy, ucb, ei, pi, thompson, random "
        "(default: the benchmarked default).",
    ),
    batch_strategy: str | None = typer.Option(
        None, help="Batch selection: topk, diverse, penalized (default: topk)."
    ),
    out: Path = typer.Option(Path("simulation.json"), help="Where to write the JSON result."),
) -> None:
    """Retrospective pool-based campaign against a look-up lab (MolPAL protocol)."""
    from drugloop.campaign.simulate import (
        SimulationConfig,
        read_oracle,
        read_smiles_column,
        simulate_campaign,
    )

    chosen = {"model": model, "acquisition": acquisition, "batch_strategy": batch_strategy}
    config = SimulationConfig(
        init_frac=init_frac,
        batch_frac=batch_frac,
        rounds=rounds,
        seed=seed,
        minimize=minimize,
        **{k: v for k, v in chosen.items() if v is not None},
    )
    pool_smiles = read_smiles_column(pool, smiles_col)
    values = read_oracle(oracle, smiles_col, score_col)
    with progress_bar() as bar:
        task = bar.add_task("campaign rounds", total=rounds + 1)
        result = simulate_campaign(
            pool_smiles, values, config, progress=lambda _: bar.advance(task)
        )
    result.write_json(out)
    console.print(simulation_table(result))
    console.print(plain(f"wrote {out}"))


def simulation_table(result) -> Table:
    table = Table(title=f"top-{result.top_k} recovery (top {result.config['top_frac']:.0%})")
    for column in (
        "round",
        "tested",
        "% of pool",
        "failed",
        "top found",
        "fraction of top",
        "best",
    ):
        table.add_column(column, justify="right")
    for r in result.rounds:
        best = f"{r.best_value:.2f}" if r.best_value is not None else "-"
        table.add_row(
            str(r.round),
            str(r.n_tested),
            f"{r.fraction_tested:.1%}",
            str(r.n_failed),
            str(r.top_found),
            f"{r.fraction_top_found:.3f}",
            best,
        )
    return table


def _store(project):
    from drugloop.cli.data import open_store

    return open_store(project)


def _frame_table(frame, title: str) -> Table:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[plain(v) for v in row])
    return table


@campaign_app.command("init")
@user_errors
def init(
    name: str = typer.Argument(..., help="Campaign name."),
    project: str = PROJECT_OPTION,
    config: Path | None = typer.Option(None, help="Campaign TOML (see docs/campaigns.md)."),
    assay: str = typer.Option("activity", help="Assay id whose measurements drive the models."),
    pool: Path | None = typer.Option(None, help="Candidate pool (CSV/SMI)."),
    batch_size: int = typer.Option(24, help="Compounds per order."),
    acquisition: str = typer.Option("greedy", help="greedy, ucb, ei, pi or thompson."),
    model: str = typer.Option("gp", help="Surrogate model: gp, rf, lgbm, mlp."),
    batch_strategy: str = typer.Option("topk", help="topk, diverse or penalized."),
    selection: str = typer.Option("desirability", help="desirability or pareto."),
    cost_weight: float = typer.Option(0.0, help="Penalize the pool's 'cost' column (0 = off)."),
    plate_size: int | None = typer.Option(None, help="Add a 96/384-well plate map to orders."),
    generator: str | None = typer.Option(None, help="Add generated candidates (e.g. graph_ga)."),
) -> None:
    """Create a campaign in the project store."""
    from drugloop.campaign.campaign import Campaign
    from drugloop.campaign.config import CampaignConfig, GeneratorSettings

    if config is not None:
        settings = CampaignConfig.from_toml(config)
    else:
        settings = CampaignConfig(
            assay_id=assay,
            pool=str(pool.resolve()) if pool else None,
            batch_size=batch_size,
            acquisition=acquisition,
            model=model,
            batch_strategy=batch_strategy,
            selection=selection,
            cost_weight=cost_weight,
            plate_size=plate_size,
            generator=GeneratorSettings(name=generator) if generator else None,
        )
    with _store(project) as store:
        Campaign.create(store, name, settings)
    console.print(f"campaign [bold]{plain(name)}[/] created in {plain(project)}")


@campaign_app.command("propose")
@user_errors
def propose(
    name: str = typer.Argument(...),
    project: str = PROJECT_OPTION,
    out_dir: Path = typer.Option(Path("orders"), help="Where the order CSV/SDF are written."),
    batch_size: int | None = typer.Option(None, help="Override the campaign's batch size."),
    pin: list[str] = typer.Option([], help="Reg id or SMILES that must be ordered (repeat)."),
    veto: list[str] = typer.Option([], help="Reg id or SMILES never to order (repeat)."),
    add: list[str] = typer.Option([], help="A chemist's own compound to order (repeat)."),
    reason: str | None = typer.Option(None, help="Why: stored with the pins, vetoes and adds."),
    user: str | None = typer.Option(None, help="Who decided: stored with the decisions."),
) -> None:
    """Train on all measurements, score candidates, select a batch and write the order.

    Vetoed compounds are never proposed again in this campaign.
    """
    from drugloop.campaign.campaign import Campaign

    with _store(project) as store:
        campaign = Campaign(store, name)
        budget = campaign.config.generator.budget if campaign.config.generator else 0
        with progress_bar() as bar:
            label = "generating and scoring" if budget else "training and scoring candidates"
            task = bar.add_task(label, total=budget or None)
            proposal = campaign.propose(
                out_dir,
                batch_size,
                progress=lambda p: bar.update(task, completed=p.n_scored),
                pin=pin,
                veto=veto,
                add=add,
                reason=reason,
                user=user,
            )
    hidden = ["qed", "sa_score", "alerts_ok", "plate", "well"]
    if (proposal.orders["decision"] == "auto").all():
        hidden.append("decision")
    shown = proposal.orders.drop(columns=[c for c in hidden if c in proposal.orders.columns])
    console.print(
        _frame_table(
            shown.head(20),
            f"round {proposal.round}: {len(proposal.orders)} "
            f"of {proposal.n_candidates} candidates "
            f"(model trained on {proposal.n_training})",
        )
    )
    console.print(plain(f"order written: {proposal.csv_path} and {proposal.sdf_path}"))
    if proposal.pool_errors:
        shown_errors = "; ".join(str(e) for e in proposal.pool_errors[:3])
        more = len(proposal.pool_errors) - 3
        console.print(
            plain(
                f"{len(proposal.pool_errors)} invalid pool SMILES skipped: {shown_errors}"
                + (f" (+{more} more)" if more > 0 else "")
            )
        )


@campaign_app.command("import")
@user_errors
def import_results(
    name: str = typer.Argument(...),
    results: Path = typer.Argument(
        ..., help="Results CSV: reg_id, value[, unit, qualifier, status]."
    ),
    project: str = PROJECT_OPTION,
) -> None:
    """Import a lab's results (idempotent); failed syntheses are recorded as such."""
    from drugloop.campaign.campaign import Campaign

    with _store(project) as store:
        outcome = Campaign(store, name).import_results(results)
    if outcome.report is not None:
        console.print(plain(outcome.report))
    console.print(
        f"{outcome.n_measured} measured, {outcome.n_failed} failed syntheses, "
        f"{outcome.rejects} rejected"
        + (f" (see {outcome.rejects_path})" if outcome.rejects_path else "")
    )


@campaign_app.command("veto")
@user_errors
def veto(
    name: str = typer.Argument(...),
    compounds: list[str] = typer.Argument(..., help="Reg ids or SMILES never to order."),
    project: str = PROJECT_OPTION,
    reason: str | None = typer.Option(None, help="Why (stored with the veto)."),
    user: str | None = typer.Option(None, help="Who decided (stored with the veto)."),
) -> None:
    """Veto compounds for the rest of the campaign without proposing a round."""
    from drugloop.campaign.campaign import Campaign

    with _store(project) as store:
        added = Campaign(store, name).veto(compounds, reason, user)
    console.print(plain(f"{added} new veto(es) recorded ({len(compounds) - added} already vetoed)"))


@campaign_app.command("unveto")
@user_errors
def unveto(
    name: str = typer.Argument(...),
    compounds: list[str] = typer.Argument(..., help="Reg ids or SMILES whose veto to lift."),
    project: str = PROJECT_OPTION,
    reason: str | None = typer.Option(None, help="Why (stored beside the original veto)."),
    user: str | None = typer.Option(None, help="Who decided (stored with the lifting)."),
) -> None:
    """Lift vetoes: the compounds may be proposed, pinned or added again."""
    from drugloop.campaign.campaign import Campaign

    with _store(project) as store:
        lifted = Campaign(store, name).lift_veto(compounds, reason, user)
    console.print(plain(f"{lifted} veto(es) lifted; the original vetoes stay in the record"))


@campaign_app.command("status")
@user_errors
def status(name: str = typer.Argument(...), project: str = PROJECT_OPTION) -> None:
    """Rounds, their orders by state, the best measured compound per round, and decisions."""
    from drugloop.campaign.campaign import Campaign

    with _store(project) as store:
        frame = Campaign(store, name).status()
        decisions = store.decisions_frame(name)
    frame = frame.drop(columns=["created_at"])
    console.print(_frame_table(frame, plain(f"campaign {name}")))
    if len(decisions):
        decisions["created_at"] = decisions["created_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M} UTC")
        console.print(_frame_table(decisions.fillna("-"), "chemist decisions"))


@campaign_app.command("report")
@user_errors
def report(
    name: str = typer.Argument(...),
    project: str = PROJECT_OPTION,
    out: Path = typer.Option(Path("report.html"), help="HTML file to write."),
    hit_threshold: float | None = typer.Option(
        None, help="pActivity counted as a hit (default: best fifth of all measurements)."
    ),
    round_index: int | None = typer.Option(
        None, "--round", help="Report one round (default: the whole campaign)."
    ),
) -> None:
    """HTML report: hits per round, model accuracy, chemical-space map, best structures."""
    from drugloop.campaign.campaign import Campaign
    from drugloop.campaign.report import write_report

    with _store(project) as store:
        path = write_report(Campaign(store, name), out, hit_threshold, round_index)
    console.print(plain(f"report written: {path}"))


@campaign_app.command("rank-pool")
@user_errors
def rank_pool(
    name: str = typer.Argument(...),
    pool: Path = typer.Option(..., help="Large pool (CSV/SMI, .gz ok), streamed in chunks."),
    project: str = PROJECT_OPTION,
    smiles_col: str = typer.Option("smiles"),
    top: int = typer.Option(1000, help="How many best candidates to write."),
    cache_dir: Path = typer.Option(Path(".drugloop_cache"), help="Fingerprint memmap cache."),
    out: Path = typer.Option(Path("ranked.csv")),
    ray_address: str | None = typer.Option(
        None, help="Score on a Ray cluster ('auto', 'ray://host:port', or 'local')."
    ),
) -> None:
    """Score a pool of millions with the campaign's model (bounded memory, both cores)."""
    import pandas as pd

    from drugloop.campaign.campaign import Campaign
    from drugloop.campaign.pool import featurize_pool, score_pool

    with _store(project) as store:
        campaign = Campaign(store, name)
        model = campaign.train_model()
        _, y = campaign.training_set()
    with progress_bar() as bar:
        task = bar.add_task("fingerprinting pool", total=None)
        cache = featurize_pool(pool, cache_dir, smiles_col, progress=lambda n: bar.advance(task, n))
        scoring = bar.add_task("scoring", total=cache.n_valid)
        params = {"beta": campaign.config.ucb_beta, "best": float(max(y))}
        best = score_pool(
            model,
            cache,
            top,
            campaign.config.acquisition,
            params,
            ray_address=ray_address,
            progress=lambda n: bar.advance(scoring, n),
        )
    smiles = cache.smiles
    sign = -1.0 if campaign.config.direction == "minimize" else 1.0
    pd.DataFrame(
        {
            "smiles": [smiles[i] for i in best.indices],
            "utility": best.utility,
            "predicted_mean": sign * best.mean,
            "predicted_std": best.std,
        }
    ).to_csv(out, index=False)
    console.print(
        plain(
            f"{cache.n_valid:,} molecules scored ({cache.n_invalid:,} invalid SMILES skipped); "
            f"top {len(best.indices)} written to {out}"
        )
    )
