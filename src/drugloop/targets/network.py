"""The human PPI network (hetio) and random walk with restart from a disease's genes."""

from __future__ import annotations

from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp


class PPINetwork:
    """Undirected PPI graph with a column-normalized transition matrix for propagation."""

    def __init__(self, edges: pd.DataFrame) -> None:
        self.graph = nx.from_pandas_edgelist(edges, "a", "b")
        self.graph.remove_edges_from(nx.selfloop_edges(self.graph))
        self.genes: list[str] = sorted(self.graph.nodes)
        self.index = {g: i for i, g in enumerate(self.genes)}

    @cached_property
    def transition(self) -> sp.csr_matrix:
        adj = nx.to_scipy_sparse_array(self.graph, nodelist=self.genes, format="csr", dtype=float)
        deg = np.asarray(adj.sum(axis=0)).ravel()
        deg[deg == 0] = 1.0
        return sp.csr_matrix(adj @ sp.diags(1.0 / deg))

    @cached_property
    def degree(self) -> pd.Series:
        return pd.Series(dict(self.graph.degree()), dtype=float).reindex(self.genes)

    def rwr(
        self, seeds: pd.Series, restart: float = 0.5, tol: float = 1e-8, max_iter: int = 100
    ) -> pd.Series:
        """Stationary visiting probability of a walk that restarts at ``seeds`` (weighted).

        Restart 0.5 keeps the signal local to the disease module (one or two hops), which is
        where the evidence for indirect targets lies; seeds outside the network are ignored.
        """
        p0 = np.zeros(len(self.genes))
        for gene, weight in seeds.items():
            i = self.index.get(gene)
            if i is not None and weight > 0:
                p0[i] += weight
        if p0.sum() == 0:
            return pd.Series(0.0, index=self.genes)
        p0 /= p0.sum()
        p = p0.copy()
        for _ in range(max_iter):
            nxt = (1 - restart) * (self.transition @ p) + restart * p0
            if np.abs(nxt - p).sum() < tol:
                p = nxt
                break
            p = nxt
        return pd.Series(p, index=self.genes)

    def neighbourhood(self, genes: list[str], max_nodes: int = 60) -> nx.Graph:
        """Top genes plus the neighbours that link two or more of them (for the report)."""
        present = [g for g in genes if g in self.graph]
        counts: dict[str, int] = {}
        for g in present:
            for n in self.graph.neighbors(g):
                counts[n] = counts.get(n, 0) + 1
        linkers = sorted(
            (n for n, c in counts.items() if c >= 2 and n not in present), key=lambda n: -counts[n]
        )
        nodes = present + linkers[: max(0, max_nodes - len(present))]
        return self.graph.subgraph(nodes).copy()
