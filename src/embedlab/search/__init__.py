"""Search: exact (BLAS) and HNSW dense indexes, BM25 and learned-sparse (SPLADE) retrieval, fusion, and
persistent collections (SQLite + vector segments + index snapshots, atomic commits).

Every index maps string ids to entries, scores "higher is better", searches one query or a batch,
takes an ``allowed`` id set as a filter, and saves to a folder without pickle. hnswlib is imported
only by :class:`HNSWIndex`.
"""

from __future__ import annotations

from .base import Hits, Metric
from .bm25 import BM25Index
from .collection import Collection, Document
from .exact import ExactIndex
from .fusion import rrf, weighted
from .hnsw import HNSWIndex
from .quantized import BinaryIndex, Int8Index
from .sparse import SparseIndex

__all__ = [
    "BM25Index",
    "BinaryIndex",
    "Collection",
    "Document",
    "ExactIndex",
    "HNSWIndex",
    "Hits",
    "Int8Index",
    "Metric",
    "SparseIndex",
    "rrf",
    "weighted",
]
