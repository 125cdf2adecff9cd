"""Beyond one machine, on Ray: batch embedding of large corpora (Ray Data), sharded index
building, served replicas (Ray Serve).

``embed_dataset(paths, "model-or-folder", "out/", address="auto", actors=4)`` embeds record files
into resumable Parquet shards (:mod:`.embed`, planned by :mod:`.shards`). Ray is imported only when
a job runs (``pip install 'embedlab[ray]'``).
"""

from __future__ import annotations

from .embed import EmbedJobResult, EncoderSpec, ShardEmbedder, embed_dataset
from .shards import JOB_FILE, ShardPlan

__all__ = [
    "JOB_FILE",
    "EmbedJobResult",
    "EncoderSpec",
    "ShardEmbedder",
    "ShardPlan",
    "embed_dataset",
]
