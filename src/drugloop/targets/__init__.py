"""Target identification: rank the targets for a disease with the evidence behind each.

>>> from drugloop.targets import rank_targets
>>> ranking = rank_targets("Alzheimer's disease", aggregator="learned")
>>> ranking.top(20)[["rank", "gene", "score", "explanation"]]
"""

from drugloop.targets.aggregate import AGGREGATORS, harmonic_sum, train_ranker
from drugloop.targets.channels import CHANNELS, Channel, ChannelResult, RankContext
from drugloop.targets.data import (
    Disease,
    DiseaseNotFoundError,
    GeneIndex,
    KnowledgeBase,
    load_kb,
)
from drugloop.targets.rank import TargetRanking, explain_gene, rank_targets
from drugloop.targets.user_evidence import UserEvidence, read_user_evidence

__all__ = [
    "AGGREGATORS",
    "CHANNELS",
    "Channel",
    "ChannelResult",
    "Disease",
    "DiseaseNotFoundError",
    "GeneIndex",
    "KnowledgeBase",
    "RankContext",
    "TargetRanking",
    "UserEvidence",
    "explain_gene",
    "harmonic_sum",
    "load_kb",
    "rank_targets",
    "read_user_evidence",
    "train_ranker",
]
