"""An HTML campaign report a project team would read: one self-contained file.

Per round: orders, measured, failed, hits and the best value; the model's accuracy on each
round's newly measured compounds (predicted at order time, with its uncertainty, vs measured);
a PCA map of chemical space coloured by round (measured training data in grey behind); the
best compounds as a structure grid; the hits; and the chemists' pins, vetoes and additions.
With ``round_index`` the same report covers one round (its hits, accuracy and best compounds;
the map shows it against the rounds before it). Figures are matplotlib PNGs inlined as base64,
structures inline SVG, so the file can be mailed.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from drugloop.campaign.campaign import Campaign


@dataclass
class CampaignSummary:
    rounds: pd.DataFrame  # per-round table
    compounds: pd.DataFrame  # ordered compounds with predictions and measured values
    hit_threshold: float


def summarize(campaign: Campaign, hit_threshold: float | None = None) -> CampaignSummary:
    """Join orders (with their order-time predictions) to measured values, per round."""
    orders = campaign.store.orders_frame(campaign.name)
    measured = campaign.store.measurements_frame(campaign.config.assay_id)
    values = measured.groupby("smiles")["pactivity"].median() if len(measured) else pd.Series()
    compounds = orders.assign(measured=orders["smiles"].map(values))
    maximize = campaign.config.direction == "maximize"
    if hit_threshold is None:  # the best fifth of everything measured for this assay
        hit_threshold = (
            float(np.nanquantile(values, 0.8 if maximize else 0.2)) if len(values) else np.nan
        )
    is_hit = (
        compounds["measured"] >= hit_threshold
        if maximize
        else (compounds["measured"] <= hit_threshold)
    )
    compounds = compounds.assign(hit=is_hit)
    rows = []
    for index, group in compounds.groupby("round", sort=True):
        done = group.dropna(subset=["measured"])
        with_pred = done.dropna(subset=["predicted_mean"])
        rows.append(
            {
                "round": int(index),
                "ordered": len(group),
                "measured": len(done),
                "failed": int((group["status"] == "failed").sum()),
                "pending": int((group["status"] == "ordered").sum()),
                "hits": int(group["hit"].sum()),
                "best": (done["measured"].max() if maximize else done["measured"].min())
                if len(done)
                else np.nan,
                "spearman": with_pred["predicted_mean"].corr(with_pred["measured"], "spearman")
                if len(with_pred) > 2
                else np.nan,
                "mae": float(np.mean(np.abs(with_pred["predicted_mean"] - with_pred["measured"])))
                if len(with_pred)
                else np.nan,
                "within_2sd": float(
                    np.mean(
                        np.abs(with_pred["predicted_mean"] - with_pred["measured"])
                        <= 2 * with_pred["predicted_std"]
                    )
                )
                if len(with_pred)
                else np.nan,
            }
        )
    return CampaignSummary(pd.DataFrame(rows), compounds, hit_threshold)


def for_round(summary: CampaignSummary, index: int) -> CampaignSummary:
    """The part of a campaign summary about one round (hit threshold kept campaign-wide)."""
    known = summary.rounds["round"].tolist()
    if index not in known:
        raise ValueError(f"no round {index} to report; rounds: {known}")
    return CampaignSummary(
        summary.rounds[summary.rounds["round"] == index].reset_index(drop=True),
        summary.compounds[summary.compounds["round"] == index].reset_index(drop=True),
        summary.hit_threshold,
    )


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _figures(
    campaign: Campaign, summary: CampaignSummary, mapped: pd.DataFrame, one_round: bool = False
) -> dict[str, str]:
    """Hits per round, predicted vs measured and the chemical-space map of ``mapped``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    from drugloop.chem.features import Featurizer, FeaturizerConfig

    figs: dict[str, str] = {}
    rounds, compounds = summary.rounds, summary.compounds
    if not one_round:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.bar(rounds["round"], rounds["hits"], color="tab:green", label="hits")
        ax.plot(rounds["round"], rounds["measured"], "o-", color="tab:gray", label="measured")
        ax.set_xlabel("round"), ax.set_ylabel("compounds"), ax.legend()
        figs["hits"] = _png(fig)
        plt.close(fig)

    both = compounds.dropna(subset=["measured", "predicted_mean"])
    if len(both):
        fig, ax = plt.subplots(figsize=(4.5, 4.2))
        for index, group in both.groupby("round"):
            ax.errorbar(
                group["predicted_mean"],
                group["measured"],
                xerr=group["predicted_std"].fillna(0),
                fmt="o",
                ms=4,
                alpha=0.8,
                label=f"round {index}",
            )
        lo = float(min(both["predicted_mean"].min(), both["measured"].min()))
        hi = float(max(both["predicted_mean"].max(), both["measured"].max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel("predicted at order time (± 1 sd)"), ax.set_ylabel("measured")
        ax.legend(fontsize=7)
        figs["accuracy"] = _png(fig)
        plt.close(fig)

    background = campaign.store.measurements_frame(campaign.config.assay_id)["smiles"]
    background = background[~background.isin(mapped["smiles"])].drop_duplicates()
    background = background.sample(min(len(background), 2000), random_state=0)
    featurizer = Featurizer(FeaturizerConfig("morgan", 2, 2048))
    X = featurizer.transform(background.tolist() + mapped["smiles"].tolist()).astype(float)
    if len(X) >= 3:
        xy = PCA(n_components=2, random_state=0).fit_transform(X)
        fig, ax = plt.subplots(figsize=(5, 4.2))
        nb = len(background)
        ax.scatter(xy[:nb, 0], xy[:nb, 1], s=6, c="lightgray", label="measured, not ordered")
        sc = ax.scatter(xy[nb:, 0], xy[nb:, 1], s=18, c=mapped["round"], cmap="viridis")
        current = (mapped["round"] == rounds["round"].max()).to_numpy() & one_round
        if current.any():  # a round report: ring this round's compounds
            ax.scatter(
                xy[nb:][current, 0],
                xy[nb:][current, 1],
                s=60,
                facecolors="none",
                edgecolors="red",
                label=f"round {rounds['round'].max()}",
            )
        fig.colorbar(sc, ax=ax, label="round")
        ax.set_xlabel("PC1"), ax.set_ylabel("PC2"), ax.legend(fontsize=7)
        figs["space"] = _png(fig)
        plt.close(fig)
    return figs


def _best_grid(campaign: Campaign, summary: CampaignSummary, n: int = 12) -> str:
    from rdkit import Chem

    from drugloop.chem.depict import grid_svg

    done = summary.compounds.dropna(subset=["measured"])
    done = done.sort_values("measured", ascending=campaign.config.direction == "minimize").head(n)
    if done.empty:
        return "<p>No measured compounds yet.</p>"
    mols = [Chem.MolFromSmiles(s) for s in done["smiles"]]
    legends = [
        f"{r} (round {k}): {v:.2f}"
        for r, k, v in zip(done["reg_id"], done["round"], done["measured"], strict=True)
    ]
    listing = done[["reg_id", "round", "measured", "smiles"]].round(3)  # copyable ids, SMILES
    return grid_svg(mols, legends, per_row=4) + listing.to_html(index=False, border=0)


def _hits_table(summary: CampaignSummary, maximize: bool) -> str:
    hits = summary.compounds[summary.compounds["hit"]].sort_values(
        "measured", ascending=not maximize
    )
    if hits.empty:
        return "<p>No hits.</p>"
    columns = ["round", "reg_id", "smiles", "measured", "predicted_mean", "predicted_std"]
    return hits[columns].round(3).to_html(index=False, na_rep="–", border=0)


def _decisions_table(campaign: Campaign, round_index: int | None) -> str:
    decisions = campaign.store.decisions_frame(campaign.name)
    if round_index is not None:
        decisions = decisions[decisions["round"] == round_index]
    if decisions.empty:
        return "<p>No pins, vetoes or additions.</p>"
    decisions = decisions.assign(
        created_at=decisions["created_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M} UTC")
    )
    return decisions.to_html(index=False, na_rep="–", border=0)


def write_report(
    campaign: Campaign,
    out: str | Path,
    hit_threshold: float | None = None,
    round_index: int | None = None,
) -> Path:
    """Write the campaign's (or, with ``round_index``, one round's) HTML report to ``out``."""
    summary = summarize(campaign, hit_threshold)
    if summary.compounds.empty:
        raise ValueError(f"campaign {campaign.name!r} has no rounds yet; nothing to report")
    mapped = summary.compounds
    if round_index is not None:
        mapped = mapped[mapped["round"] <= round_index]
        summary = for_round(summary, round_index)
    maximize = campaign.config.direction == "maximize"
    figs = _figures(campaign, summary, mapped, one_round=round_index is not None)
    table = summary.rounds.round(3).to_html(index=False, na_rep="–", border=0)
    images = "".join(
        f'<figure id="fig-{k}"><img src="data:image/png;base64,{figs[k]}">'
        f"<figcaption>{caption}"
        "</figcaption></figure>"
        for k, caption in (
            ("hits", "Hits and measured compounds per round"),
            (
                "accuracy",
                "Model accuracy on newly measured compounds (prediction made at order "
                "time, ± 1 sd)",
            ),
            ("space", "Chemical space (PCA of Morgan fingerprints), coloured by round"),
        )
        if k in figs
    )
    direction = "≥" if maximize else "≤"
    title = f"Campaign {html.escape(campaign.name)}" + (
        f", round {round_index}" if round_index is not None else ""
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd;
text-align:right}}figure{{display:inline-block;margin:1em}}</style></head><body>
<h1>{title}</h1>
<p>Assay <b>{html.escape(campaign.config.assay_id)}</b> ({campaign.config.direction}),
model {html.escape(campaign.config.model)}, acquisition
{html.escape(campaign.config.acquisition)}, batch strategy
{html.escape(campaign.config.batch_strategy)}. A hit is a measured value {direction}
{summary.hit_threshold:.2f} (pActivity).</p>
<h2 id="rounds">Rounds</h2>{table}
<p>spearman / mae / within_2sd: the model's predictions at order time against what the lab
then measured for that round's compounds.</p>
<h2 id="hits">Hits</h2>{_hits_table(summary, maximize)}
<h2 id="figures">Figures</h2>{images}
<h2 id="best">Best compounds</h2>{_best_grid(campaign, summary)}
<h2 id="decisions">Chemist decisions</h2>{_decisions_table(campaign, round_index)}
</body></html>"""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    return out
