"""Knowledge-graph embeddings: TransE, DistMult, ComplEx and RotatE, link prediction, evaluation.

::

    from embedlab.kg import RotatE, Triples, link_prediction

    train = Triples.read("WN18RR/train.tsv")
    test = Triples.read("WN18RR/test.tsv", like=train)
    model = RotatE(dim=200, negatives=64, epochs=50).fit(train)
    link_prediction(model, test, known=[train]).metrics["both"]["mrr"]
    model.entity_vectors_.most_similar("08769179")               # ordinary embedlab vectors

Modules: :mod:`.triples` (reading), :mod:`.model` (the trainers), :mod:`.evaluate` (filtered
ranks and metrics), :mod:`._kernels` (numba).
"""

from .evaluate import LinkPrediction, link_prediction, rank_metrics, tune_text_weight
from .model import MODELS, ComplEx, DistMult, KGModel, RotatE, TransE
from .triples import Triples, read_entity_text, read_splits

__all__ = [
    "MODELS",
    "ComplEx",
    "DistMult",
    "KGModel",
    "LinkPrediction",
    "RotatE",
    "TransE",
    "Triples",
    "link_prediction",
    "rank_metrics",
    "read_entity_text",
    "read_splits",
    "tune_text_weight",
]
