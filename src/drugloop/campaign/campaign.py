"""A design–make–test–analyze campaign on top of the project store.

Each round: train on everything measured so far for the campaign's assay, gather candidates
(from a pool, from a generator, or both), score them with the multi-parameter objective
(predicted activity via the acquisition function, drug-likeness, synthesizability, alerts),
pick a batch, write the order (CSV + SDF with registration ids) and record it. Results files
come back through :meth:`Campaign.import_results`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem

from drugloop.campaign.acquisition import ACQUISITIONS, acquisition_scores
from drugloop.campaign.batch import BATCH_STRATEGIES, pareto_rank, select_batch
from drugloop.campaign.config import CampaignConfig, SecondaryObjective
from drugloop.campaign.lab import parse_results, plate_map, write_order
from drugloop.chem.io import RecordError, read_molecules, rejects_path_for, write_rejects
from drugloop.chem.molecule import InvalidMoleculeError, standardize_smiles
from drugloop.data.assays import aggregate_replicates
from drugloop.data.store import ImportReport, ProjectStore, file_sha256
from drugloop.models import Model, create_model
from drugloop.scoring import (
    ComponentConfig,
    ScoringFunction,
    build_scoring_function,
    default_config,
)

MIN_TRAINING_COMPOUNDS = 5


class CampaignError(ValueError):
    """A campaign request that cannot be carried out (no data, nothing to choose from…)."""


@dataclass
class Proposal:
    round: int
    orders: pd.DataFrame  # reg_id, smiles, source, score, predicted_activity, uncertainty, …
    csv_path: Path
    sdf_path: Path
    n_candidates: int
    n_training: int
    pool_errors: list[RecordError] = field(default_factory=list)  # invalid pool rows, skipped


@dataclass
class ResultsImport:
    report: ImportReport | None
    n_measured: int
    n_failed: int
    rejects: int
    rejects_path: Path | None


class Campaign:
    """A named campaign in a :class:`ProjectStore`; its config is stored with it."""

    def __init__(self, store: ProjectStore, name: str) -> None:
        self.store = store
        self.name = name
        self.config = CampaignConfig.model_validate(store.get_campaign(name).config)
        self._costs: dict[str, float] = {}
        self._pool_errors: list[RecordError] = []

    @staticmethod
    def check_config(config: CampaignConfig) -> None:
        """Unknown plug-in names fail at ``init``, not weeks later at ``propose``."""
        ACQUISITIONS.get(config.acquisition)
        BATCH_STRATEGIES.get(config.batch_strategy)
        from drugloop.models import MODELS

        MODELS.get(config.model)

    @classmethod
    def create(cls, store: ProjectStore, name: str, config: CampaignConfig) -> Campaign:
        cls.check_config(config)
        store.create_campaign(name, config.model_dump(mode="json"))
        return cls(store, name)

    # ----------------------------------------------------------------------- analyze

    def training_set(self) -> tuple[list[str], np.ndarray]:
        """Aggregated measurements of the campaign assay (censored values used at their bound)."""
        measured = self.store.measurements_frame(self.config.assay_id)
        if measured.empty:
            return [], np.array([])
        table = aggregate_replicates(measured)
        table = table[np.isfinite(table["pactivity"])]
        y = table["pactivity"].to_numpy(dtype=float)
        return table["smiles"].tolist(), (-y if self.config.direction == "minimize" else y)

    def train_model(self) -> Model:
        smiles, y = self.training_set()
        if len(smiles) < MIN_TRAINING_COMPOUNDS:
            raise CampaignError(
                f"campaign {self.name!r}: only {len(smiles)} measured compounds for assay "
                f"{self.config.assay_id!r}; ingest data or import results first"
            )
        params = {"seed": self.config.seed, **self.config.model_params}
        return create_model(self.config.model, **params).fit(smiles, y)

    def objective(self, model: Model) -> ScoringFunction:
        """The default objective plus an applicability-domain term.

        Predictions far from everything measured are guesses; a generator left alone will
        happily exploit them. Nearest-neighbour similarity to the measured compounds (ramping
        from 0.3 to 0.55 Tanimoto) keeps proposals where the model has evidence.
        """
        config = default_config(with_activity=True)
        beta = self.config.ucb_beta if self.config.acquisition == "ucb" else None
        for component in config.components:
            if component.type == "activity" and beta is not None:
                component.params["beta"] = beta
        smiles, _ = self.training_set()
        config.components.append(
            ComponentConfig.model_validate(
                {
                    "type": "tanimoto_similarity",
                    "name": "domain",
                    "references": smiles,
                    "transform": {"type": "sigmoid", "low": 0.3, "high": 0.55, "k": 0.5},
                }
            )
        )
        return build_scoring_function(config, models={"activity": model})

    # ----------------------------------------------------------------------- design

    def _excluded(self) -> set[str]:
        ordered = self.store.orders_frame(self.name)
        measured = self.store.measurements_frame(self.config.assay_id)
        return set(ordered["smiles"]) | set(measured["smiles"])

    def vetoed(self) -> dict[str, int]:
        """Compounds under a veto in this campaign → the round the veto in force was made.

        Decisions are replayed in the order they were made, so a lifted veto no longer counts
        and a compound vetoed again counts from its new veto.
        """
        decisions = self.store.decisions_frame(self.name)
        active: dict[str, int] = {}
        for smiles, decision, round_index in zip(
            decisions["smiles"], decisions["decision"], decisions["round"], strict=True
        ):
            if decision == "vetoed":
                active.setdefault(smiles, int(round_index))
            elif decision == "veto_lifted":
                active.pop(smiles, None)
        return active

    def veto(self, items: list[str], reason: str | None = None, user: str | None = None) -> int:
        """Record vetoes outside a proposal (e.g. after a design review); returns how many new."""
        known = self.vetoed()
        new = [s for s in self._resolve(items, "veto") if s not in known]
        decisions = [(s, "vetoed", reason, user) for s in new]
        return self.store.add_decisions(self.name, self.next_round(), decisions)

    def lift_veto(
        self, items: list[str], reason: str | None = None, user: str | None = None
    ) -> int:
        """Lift vetoes (the compounds may be proposed again); returns how many were lifted.

        The veto stays in the record beside its lifting. Naming a compound that is not under a
        veto is an error, so a typo cannot pass for a lifted veto.
        """
        known = self.vetoed()
        compounds = self._resolve(items, "lift")
        missing = [s for s in compounds if s not in known]
        if missing:
            raise CampaignError(f"cannot lift the veto on {missing[0]}: it is not vetoed")
        decisions = [(s, "veto_lifted", reason, user) for s in compounds]
        return self.store.add_decisions(self.name, self.next_round(), decisions)

    def pool_candidates(self) -> list[str]:
        """Standardized pool SMILES; invalid rows are skipped and kept in ``_pool_errors``.

        Costs are read per record (never by position), so a skipped row cannot shift them; an
        empty cost means "unknown" (the median is used), a non-numeric or negative one is an
        error naming its line.
        """
        if not self.config.pool:
            return []
        read = read_molecules(self.config.pool, smiles_col=self.config.pool_smiles_col)
        self._pool_errors = read.errors
        for r in read.records:
            raw = r.fields.get(self.config.cost_col, "").strip()
            if not raw:
                continue
            try:
                cost = float(raw)
            except ValueError:
                cost = float("nan")
            if not np.isfinite(cost) or cost < 0:
                raise CampaignError(
                    f"{r.source}:{r.record}: cost {raw!r} is not a non-negative number"
                )
            self._costs[r.smiles] = cost
        return list(dict.fromkeys(r.smiles for r in read.records))

    def generated_candidates(self, model: Model, progress: Callable | None = None) -> pd.DataFrame:
        """Run the configured generator from the best measured compounds; keep the best novel."""
        from drugloop.design import GENERATORS, optimize

        settings = self.config.generator
        smiles, y = self.training_set()
        seeds = [smiles[i] for i in np.argsort(-y)[:100]]
        objective = self.objective(model)
        params = {"seed": self.config.seed, **settings.params}
        if settings.name == "graph_ga":  # seeds scored up front: they don't use up the budget
            params.setdefault("initial_scores", objective.score(seeds).total)
        generator = GENERATORS.create(settings.name, initial_population=seeds, **params)
        result = optimize(generator, objective, budget=settings.budget, progress=progress)
        known = {_flat_smiles(s) for s in smiles}  # generators drop stereo: compare flat
        novel = ~result.molecules["smiles"].map(_flat_smiles).isin(known)
        designed = result.molecules[novel]
        designed = designed.sort_values("score", ascending=False).head(settings.n_candidates)
        self.store.add_designs(
            settings.name,
            designed["smiles"].tolist(),
            designed["score"].tolist(),
            campaign=self.name,
            round_index=self.next_round(),
        )
        return designed.assign(source=settings.name)

    def next_round(self) -> int:
        rounds = self.store.rounds_frame(self.name)
        return int(rounds["index"].max()) + 1 if len(rounds) else 0

    def _resolve(self, items: list[str] | None, what: str) -> list[str]:
        """Registration ids or SMILES from a chemist → standardized SMILES (clear errors)."""
        if not items:
            return []
        known = self.store.compounds_frame()
        by_id = dict(zip(known["reg_id"], known["smiles"], strict=True)) if len(known) else {}
        out = []
        for item in items:
            item = item.strip()
            if item in by_id:
                out.append(by_id[item])
                continue
            try:
                out.append(standardize_smiles(item))
            except InvalidMoleculeError as exc:
                raise CampaignError(
                    f"{what} {item!r}: not a registration id or SMILES ({exc.reason})"
                ) from None
        return list(dict.fromkeys(out))

    def propose(
        self,
        out_dir: str | Path,
        batch_size: int | None = None,
        progress: Callable | None = None,
        pin: list[str] | None = None,
        veto: list[str] | None = None,
        add: list[str] | None = None,
        reason: str | None = None,
        user: str | None = None,
    ) -> Proposal:
        """Choose the next batch, write the order files and record the round.

        A chemist's ``pin`` (candidates that must be in), ``veto`` (never order, in this round
        or any later one) and ``add`` (compounds of their own) are applied before the order is
        finalized and recorded in the store with ``reason``, ``user``, round and time (pinned
        and added compounds also carry that decision on their order line).
        """
        index = self.next_round()
        excluded = self._excluded()
        earlier = self.vetoed()
        new_vetoes = [s for s in self._resolve(veto, "veto") if s not in earlier]
        vetoed = set(earlier) | set(new_vetoes)
        forced = [(s, "pinned") for s in self._resolve(pin, "pin")]
        forced += [(s, "added") for s in self._resolve(add, "add") if s not in dict(forced)]
        for smi, _ in forced:
            if smi in earlier:
                raise CampaignError(f"cannot order {smi}: vetoed in round {earlier[smi]}")
            if smi in excluded or smi in vetoed:
                raise CampaignError(f"cannot order {smi}: already ordered/measured or vetoed")
        smiles, _ = self.training_set()
        pool = [s for s in self.pool_candidates() if s not in excluded and s not in vetoed]
        n = batch_size or self.config.batch_size
        if len(smiles) < MIN_TRAINING_COMPOUNDS:
            orders, n_candidates = self._initial_batch(pool, self.config.initial_batch_size or n)
        else:
            extra = [s for s, _ in forced if s not in set(pool)]
            orders, n_candidates = self._model_batch(
                pool + extra, excluded | vetoed, n, progress, forced=dict(forced)
            )
        orders = self._apply_forced(orders, forced, n)
        if orders.empty:
            raise CampaignError(f"campaign {self.name!r}: no candidates left to propose")
        decisions = [(s, d, reason, user) for s, d in forced]
        decisions += [(s, "vetoed", reason, user) for s in new_vetoes]
        self.store.add_round(self.name, index, orders, decisions=decisions)
        reg_ids = self.store.register(orders["smiles"].tolist())
        orders.insert(0, "reg_id", orders["smiles"].map(reg_ids))
        if self.config.plate_size:
            orders = pd.concat([orders, plate_map(len(orders), self.config.plate_size)], axis=1)
        stem = Path(out_dir) / f"{self.name}_round{index}_order"
        csv_path, sdf_path = write_order(_order_sheet(orders, self.config.assay_id), stem)
        if decisions:
            pd.DataFrame(decisions, columns=["smiles", "decision", "reason", "user"]).to_csv(
                stem.with_name(stem.name.replace("_order", "_decisions")).with_suffix(".csv"),
                index=False,
            )
        self.store.set_round_status(self.name, index, "ordered", order_file=csv_path)
        return Proposal(
            index, orders, csv_path, sdf_path, n_candidates, len(smiles), self._pool_errors
        )

    @staticmethod
    def _apply_forced(orders: pd.DataFrame, forced: list[tuple[str, str]], n: int) -> pd.DataFrame:
        """Forced compounds first (with their decision), then the best automatic picks."""
        orders = orders.assign(decision="auto")
        if not forced:
            return orders
        decision = dict(forced)
        chosen = orders[orders["smiles"].isin(decision)]
        missing = [s for s in decision if s not in set(chosen["smiles"])]
        rows = pd.DataFrame({"smiles": missing, "source": "chemist"})
        chosen = pd.concat([chosen, rows], ignore_index=True)
        chosen["decision"] = chosen["smiles"].map(decision)
        for column in ("acquisition_score", "predicted_mean", "predicted_std"):
            if column not in chosen:
                chosen[column] = np.nan
        rest = orders[~orders["smiles"].isin(decision)].head(max(0, n - len(chosen)))
        return pd.concat([chosen, rest], ignore_index=True)

    def _nothing_left(self) -> str:
        if self.config.pool:
            return (
                f"campaign {self.name!r}: no candidates left to propose; every compound of "
                f"{self.config.pool} is already ordered, measured or vetoed"
            )
        return f"campaign {self.name!r}: configure a pool or a generator"

    def _initial_batch(self, pool: list[str], n: int) -> tuple[pd.DataFrame, int]:
        if not pool and self.config.pool:
            raise CampaignError(self._nothing_left())
        if not pool:
            raise CampaignError(
                f"campaign {self.name!r} has no measurements for assay {self.config.assay_id!r} "
                "and no pool to sample a first batch from"
            )
        rng = np.random.default_rng(self.config.seed)
        picked = [pool[i] for i in rng.choice(len(pool), size=min(n, len(pool)), replace=False)]
        nan = [np.nan] * len(picked)
        return pd.DataFrame(
            {
                "smiles": picked,
                "acquisition_score": nan,
                "predicted_mean": nan,
                "predicted_std": nan,
                "source": "pool-random",
            }
        ), len(pool)

    def _model_batch(
        self,
        pool: list[str],
        excluded: set[str],
        n: int,
        progress: Callable | None,
        forced: dict[str, str] | None = None,
    ) -> tuple[pd.DataFrame, int]:
        model = self.train_model()
        frames = [pd.DataFrame({"smiles": pool, "source": "pool"})] if pool else []
        if self.config.generator is not None:
            generated = self.generated_candidates(model, progress)
            frames.append(generated.loc[~generated["smiles"].isin(excluded), ["smiles", "source"]])
        if not frames:
            raise CampaignError(self._nothing_left())
        candidates = pd.concat(frames).drop_duplicates("smiles").reset_index(drop=True)
        scored = self.objective(model).score(candidates["smiles"].tolist()).to_frame()
        sign = -1.0 if self.config.direction == "minimize" else 1.0
        candidates = candidates.assign(
            acquisition_score=scored["score"].to_numpy(),
            predicted_mean=sign * scored["activity_mean"].to_numpy(),
            predicted_std=scored["activity_std"].to_numpy(),
            qed=scored["qed_raw"].to_numpy(),
            sa_score=scored["sa_score_raw"].to_numpy(),
            alerts_ok=scored["alerts_raw"].to_numpy(),
            nearest_similarity=scored["domain_raw"].to_numpy(),
        )
        candidates["acquisition_score"] = self._adjusted_scores(candidates, scored)
        candidates = self._apply_secondary(candidates)
        n_pick = n + len(forced or {})  # room for forced picks that are also top candidates
        picks = self._select(candidates, n_pick)
        best = candidates.iloc[picks]
        return best.reset_index(drop=True), len(candidates)

    def _adjusted_scores(self, candidates: pd.DataFrame, scored: pd.DataFrame) -> np.ndarray:
        """Objective score × acquisition (EI/PI/Thompson as a rank desirability) ÷ cost."""
        score = candidates["acquisition_score"].to_numpy(dtype=float)
        name = self.config.acquisition
        if name not in ("greedy", "ucb"):
            smiles, y = self.training_set()
            utility = acquisition_scores(
                name,
                scored["activity_mean"].to_numpy(),
                scored["activity_std"].to_numpy(),
                best=float(np.max(y)),
                rng=np.random.default_rng(self.config.seed + self.next_round()),
            )
            score = score * pd.Series(utility).rank(pct=True).to_numpy()
        if self.config.cost_weight > 0 and self._costs:
            cost = candidates["smiles"].map(self._costs).to_numpy(dtype=float)
            median = np.nanmedian(cost) if np.isfinite(cost).any() else 1.0
            cost = np.where(np.isfinite(cost), cost, median)
            score = score / (1.0 + self.config.cost_weight * cost / max(median, 1e-9))
        return score

    def _apply_secondary(self, candidates: pd.DataFrame) -> pd.DataFrame:
        """Predict each secondary property and multiply its desirability into the score."""
        for objective in self.config.secondary:
            predicted = self._predict_secondary(objective, candidates["smiles"].tolist())
            span = objective.best - objective.worst
            desirability = np.clip((predicted - objective.worst) / span, 0.0, 1.0)
            candidates[f"{objective.key}_predicted"] = predicted
            candidates[f"{objective.key}_desirability"] = desirability
            candidates["acquisition_score"] = candidates["acquisition_score"] * desirability
        return candidates

    def _predict_secondary(self, objective: SecondaryObjective, smiles: list[str]) -> np.ndarray:
        """The shipped ADMET panel's column, or a model trained on the assay's measurements."""
        if objective.admet is not None:
            from drugloop.scoring.admet import panel_predictions

            return panel_predictions(smiles)[objective.admet].to_numpy(dtype=float)
        measured = self.store.measurements_frame(objective.assay_id)
        if measured.empty:
            raise CampaignError(f"secondary objective {objective.assay_id!r} has no measurements")
        table = aggregate_replicates(measured)
        table = table[np.isfinite(table["pactivity"])]
        if len(table) < MIN_TRAINING_COMPOUNDS:
            raise CampaignError(
                f"secondary objective {objective.assay_id!r}: only {len(table)} compounds"
            )
        model = create_model(objective.model, seed=self.config.seed).fit(
            table["smiles"].tolist(), table["pactivity"].to_numpy(dtype=float)
        )
        return model.predict(smiles).mean

    def _select(self, candidates: pd.DataFrame, n: int) -> np.ndarray:
        score = candidates["acquisition_score"].to_numpy(dtype=float)
        if self.config.selection == "pareto":
            objectives = np.column_stack(
                [
                    candidates["predicted_mean"].to_numpy(dtype=float)
                    * (-1.0 if self.config.direction == "minimize" else 1.0),
                    candidates["qed"].to_numpy(dtype=float),
                    -candidates["sa_score"].to_numpy(dtype=float),
                    *[
                        candidates[f"{o.key}_desirability"].to_numpy(dtype=float)
                        for o in self.config.secondary
                    ],
                ]
            )
            rank = pareto_rank(objectives)
            # front first, objective score within a front
            score = -rank.astype(float) + 0.5 * (score - np.nanmin(score)) / (
                np.ptp(np.nan_to_num(score)) or 1.0
            )
        return select_batch(
            self.config.batch_strategy,
            score,
            candidates["smiles"].tolist(),
            n,
            **self.config.batch_params,
        )

    # ----------------------------------------------------------------------- make/test

    def import_results(self, path: str | Path, **columns: str) -> ResultsImport:
        """Validate and store a lab's results file; idempotent (same file → nothing added)."""
        orders = self.store.orders_frame(self.name)
        ordered = dict(zip(orders["reg_id"], orders["smiles"], strict=True))
        known = set(self.store.compounds_frame()["reg_id"])
        parsed = parse_results(
            path,
            ordered,
            self.config.assay_id,
            known_ids=known,
            default_unit=self.config.results_unit,
            **columns,
        )
        rejects_path = None
        if parsed.rejects:
            rejects_path = write_rejects(parsed.rejects, rejects_path_for(path))
        report = None
        if not parsed.measurements.empty:
            report = self.store.add_measurements(
                parsed.measurements,
                kind=f"results:{self.name}",
                source_file=str(path),
                sha256=file_sha256(path),
                n_rows=parsed.n_rows,
                n_rejected=len(parsed.rejects),
                rejects_path=rejects_path,
            )
            measured_ids = [
                r for r in orders["reg_id"] if ordered[r] in set(parsed.measurements["smiles"])
            ]
            self.store.set_order_status(self.name, measured_ids, "measured")
        if parsed.failed:
            self.store.set_order_status(self.name, parsed.failed, "failed")
        self._close_finished_rounds()
        return ResultsImport(
            report, len(parsed.measurements), len(parsed.failed), len(parsed.rejects), rejects_path
        )

    def _close_finished_rounds(self) -> None:
        for row in self.store.rounds_frame(self.name).itertuples(index=False):
            if row.status != "complete" and row.n_orders and row.n_ordered == 0:
                self.store.set_round_status(self.name, int(row.index), "complete")

    def status(self) -> pd.DataFrame:
        """Per round: orders by state, and the best measured value among that round's compounds."""
        rounds = self.store.rounds_frame(self.name)
        orders = self.store.orders_frame(self.name)
        measured = self.store.measurements_frame(self.config.assay_id)
        best = measured.groupby("smiles")["pactivity"].median()
        pick = max if self.config.direction == "maximize" else min
        bests = []
        for index in rounds["index"]:
            values = best.reindex(orders.loc[orders["round"] == index, "smiles"]).dropna()
            bests.append(pick(values) if len(values) else np.nan)
        return rounds.assign(best_measured=bests)


def _flat_smiles(smiles: str) -> str:
    """Canonical SMILES without stereo, to recognise known compounds a generator re-made."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return smiles
    # remove stereo before canonicalizing: MolToSmiles(isomericSmiles=False) can still rank
    # atoms by their stereo and so spell the same flat structure differently
    Chem.RemoveStereochemistry(mol)
    return Chem.MolToSmiles(mol)


def _order_sheet(orders: pd.DataFrame, assay_id: str) -> pd.DataFrame:
    sheet = orders.rename(
        columns={
            "predicted_mean": "predicted_activity",
            "predicted_std": "uncertainty",
            "acquisition_score": "score",
        }
    )
    sheet["requested_assay"] = assay_id
    keep = [
        "reg_id",
        "smiles",
        "source",
        "requested_assay",
        "score",
        "predicted_activity",
        "uncertainty",
        "qed",
        "sa_score",
        "alerts_ok",
        "decision",
        "plate",
        "well",
    ]
    return sheet[[c for c in keep if c in sheet.columns]].round(4)
