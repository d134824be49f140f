"""Self-contained HTML report: evidence bars per target and the PPI neighbourhood of the top."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import jinja2

from drugloop.targets.channels import network_of
from drugloop.targets.data import load_kb
from drugloop.targets.rank import LABELS, TargetRanking

TEMPLATE = jinja2.Template(
    """<!doctype html>
<html><head><meta charset="utf-8"><title>Targets for {{ disease }}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#eee}</style></head><body>
<h1>Ranked targets for {{ disease }}</h1>
<p>Aggregator: <b>{{ aggregator }}</b>. Drugs already indicated for this disease
(never used as evidence): {{ known or "none listed" }}.</p>
{% for note in notes %}<p>{{ note }}</p>{% endfor %}
<h2>Evidence per target</h2><img alt="evidence bars" src="data:image/png;base64,{{ bars }}">
<h2>PPI neighbourhood of the top targets</h2>
<img alt="network" src="data:image/png;base64,{{ network }}">
<h2>Table</h2><table><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for c in columns %}<td>{{ row[c] }}</td>{% endfor %}</tr>
{% endfor %}</table></body></html>""",
    autoescape=True,
)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def evidence_bars(ranking: TargetRanking, top: int) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ranking.top(top).iloc[::-1]
    channels = [c for c in LABELS if c in shown.columns]
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(shown) + 1.5))
    left = [0.0] * len(shown)
    for name in channels:
        vals = shown[name].to_numpy()
        ax.barh(shown.gene, vals, left=left, label=LABELS[name])
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_xlabel("channel score (stacked)")
    ax.legend(fontsize=7, loc="lower right")
    out = _png(fig)
    plt.close(fig)
    return out


def neighbourhood_plot(ranking: TargetRanking, top: int) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    genes = list(ranking.top(top).gene)
    sub = network_of(load_kb()).neighbourhood(genes)
    fig, ax = plt.subplots(figsize=(9, 7))
    if sub.number_of_nodes():
        pos = nx.spring_layout(sub, seed=0)
        colors = ["tab:red" if n in genes else "lightgrey" for n in sub.nodes]
        nx.draw_networkx(
            sub, pos, ax=ax, node_color=colors, node_size=250, font_size=7, edge_color="#bbb"
        )
    ax.set_title("top targets (red) and PPI genes linking two or more of them (grey)")
    ax.axis("off")
    out = _png(fig)
    plt.close(fig)
    return out


def write_report(ranking: TargetRanking, path: str | Path, top: int = 20) -> Path:
    path = Path(path)
    shown = ranking.top(top)
    columns = [c for c in shown.columns if c != "known_drug_target"]
    rows = [
        {c: (f"{v:.3f}" if isinstance(v, float) else v) for c, v in r.items()}
        for r in shown.to_dict("records")
    ]
    path.write_text(
        TEMPLATE.render(
            disease=str(ranking.disease),
            aggregator=ranking.aggregator,
            known=", ".join(ranking.known_drugs),
            notes=ranking.notes,
            columns=columns,
            rows=rows,
            bars=evidence_bars(ranking, top),
            network=neighbourhood_plot(ranking, top),
        ),
        encoding="utf-8",
    )
    return path
