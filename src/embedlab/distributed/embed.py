"""Batch embedding on Ray Data: ``embed_dataset(paths, encoder, out, address=...)``.

The driver plans the job (:mod:`.shards`: one shard per ``shard_rows`` records of an input file),
skips the shards already written and verified, and hands Ray Data one small row per remaining
shard: ``from_items(shards).map_batches(ShardEmbedder, concurrency=actors, num_cpus=threads)``.
Each actor of the pool loads the model once, reads its shard's records from the input file itself
(the inputs must be readable where the actors run: one machine, a shared filesystem), encodes them
in length-sorted batches (the encoder sorts within its call, so a shard is one call) and returns an
Arrow table. The driver alone writes shards, atomically, as they arrive; so a killed driver leaves
only whole shards behind and a rerun embeds the rest. Ray Data restarts a killed actor and runs its
shard again (``max_restarts=-1``, its default for actor pools); a shard's rows reach the driver
once, so every id is in the output exactly once.

Why shards of our own and not ``ray.data.read_json(...).write_parquet(...)``: Ray's blocks have no
stable boundaries across runs, so a rerun could not tell what is done; its readers number rows
differently from ``embedlab embed`` (ids must be the same either way); and its readers' errors do
not name the line of a bad record as :mod:`embedlab.records` does.

The encoder travels as a recipe, not as an object: an :class:`EncoderSpec` (a model name or folder
and its options, what ``load_encoder`` takes) or any zero-argument callable returning an encoder
(pickled by Ray's cloudpickle). Dense, static, compressed and sparse (SPLADE) encoders alike.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress
from ..errors import EmbedlabError, ParameterError
from ..optional import require
from ._ray import connect
from .shards import Shard, ShardPlan, list_inputs, read_shard, shard_tables, text_sha1, write_shard

logger = logging.getLogger(__name__)

__all__ = ["EmbedJobResult", "EncoderSpec", "ShardEmbedder", "embed_dataset"]


@dataclass(frozen=True)
class EncoderSpec:
    """What each actor builds: ``load_encoder(model, backend=..., int8=..., **options)``, or a
    SPLADE encoder when ``sparse``; ``normalize``, ``prompt_name`` and ``batch_size`` go to
    ``encode``. ``model=None`` is the offline default (all-MiniLM-L6-v2; SPLADE-tiny if sparse)."""

    model: str | None = None
    backend: str = "torch"
    int8: bool = False
    sparse: bool = False
    normalize: bool | None = None
    prompt_name: str | None = None
    batch_size: int = 32
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The settings that make two jobs the same job (kept in the plan)."""
        model = self.model
        if model is not None and Path(model).exists():
            model = str(Path(model).resolve())
        return {
            "model": model,
            "backend": self.backend,
            "int8": self.int8,
            "sparse": self.sparse,
            "normalize": self.normalize,
            "prompt_name": self.prompt_name,
            "options": {k: v for k, v in sorted(self.options.items()) if k != "threads"},
        }

    def build(self, threads: int | None) -> Any:
        if self.sparse:
            from ..encoders.sparse import SpladeEncoder, default_splade

            return SpladeEncoder(
                self.model or default_splade(), batch_size=self.batch_size, threads=threads
            )
        from ..encoders import load_encoder

        options = dict(self.options)
        static = self.model is not None and (Path(self.model) / "static_encoder.json").exists()
        if threads is not None and not static:
            options.setdefault("threads", threads)
        return load_encoder(self.model, backend=self.backend, int8=self.int8, **options)  # type: ignore[arg-type]


class ShardEmbedder:
    """The Ray Data actor: one model load, then one shard per call (``batch_size=1``)."""

    def __init__(
        self,
        spec: EncoderSpec | Callable[[], Any],
        threads: int | None,
        field: str,
        id_field: str | None,
    ) -> None:
        from ..server.worker import cap_onednn_caches, keep_freed_memory

        if threads is not None:
            os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        # this process is ours: tuned as the server's model worker is (see server.worker)
        cap_onednn_caches()
        keep_freed_memory()
        self.spec = spec
        self.encoder = spec.build(threads) if isinstance(spec, EncoderSpec) else spec()
        self.field, self.id_field = field, id_field
        import ray

        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, Any]) -> Any:
        pa = require("pyarrow", "parquet", "Parquet shards")
        tables = []
        for i in range(len(batch["name"])):
            shard = Shard(
                str(batch["name"][i]),
                str(batch["path"][i]),
                int(batch["start"][i]),
                int(batch["stop"][i]),
                str(batch["id_prefix"][i]),
            )
            table = self.embed(shard)
            n = table.num_rows
            table = table.append_column("shard", pa.array([shard.name] * n, pa.string()))
            table = table.append_column("rows_expected", pa.array([shard.rows] * n, pa.int64()))
            tables.append(table.append_column("node", pa.array([self.node] * n, pa.string())))
        return pa.concat_tables(tables)

    def embed(self, shard: Shard) -> Any:
        """The shard's table: ``id``, ``text_sha1`` and the vectors."""
        from ..encoders import StaticEncoder
        from ..encoders.sparse import SpladeEncoder
        from ..io.tables import embeddings_table, sparse_embeddings_table

        pa = require("pyarrow", "parquet", "Parquet shards")
        ids, texts = read_shard(shard, field=self.field, id_field=self.id_field)
        spec = self.spec if isinstance(self.spec, EncoderSpec) else EncoderSpec()
        if isinstance(self.encoder, SpladeEncoder):
            table = sparse_embeddings_table(ids, self.encoder.encode(texts), self.encoder.vocab)
        else:
            kw: dict[str, Any] = {"normalize": spec.normalize, "batch_size": spec.batch_size}
            if spec.prompt_name is not None:
                kw["prompt_name"] = spec.prompt_name
            if isinstance(self.encoder, StaticEncoder):
                kw["batch_size"] = max(spec.batch_size, 1024)
            vectors = np.asarray(self.encoder.encode(texts, **kw), dtype=np.float32)
            table = embeddings_table(ids, vectors.reshape(len(texts), -1))
        sha = pa.array([text_sha1(t) for t in texts], pa.string())
        return table.add_column(1, "text_sha1", sha)


@dataclass
class EmbedJobResult:
    """What a job did: shards and rows embedded now, shards found done, the nodes its actors ran
    on, and the seconds it took."""

    out: Path
    shards: int
    embedded_shards: int
    skipped_shards: int
    rows: int
    embedded_rows: int
    nodes: set[str]
    seconds: float

    @property
    def files(self) -> list[Path]:
        return sorted(self.out.glob("part-*.parquet"))


def embed_dataset(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    encoder: EncoderSpec | str | Callable[[], Any] | None,
    out: str | os.PathLike[str],
    *,
    address: str | None = None,
    actors: int = 1,
    threads: int | None = None,
    field: str = "text",
    id_field: str | None = "id",
    shard_rows: int = 5000,
    num_cpus: int | None = None,
    show_progress: bool | None = None,
) -> EmbedJobResult:
    """Embed every record of ``paths`` (files or folders of them) into Parquet shards in ``out``.

    ``encoder``: an :class:`EncoderSpec`, a model name / folder (``EncoderSpec(model)``), None for
    the default, or a zero-argument callable returning an encoder. ``address``: a running Ray
    cluster (``"auto"``, ``"ray://host:10001"``, ``"127.0.0.1:6379"``), else Ray starts on this
    machine (``num_cpus`` of it). ``actors`` model replicas of ``threads`` CPUs each (default: the
    cluster's CPUs split among them). A rerun with the same inputs and settings embeds only what
    is missing; different ones are refused (use another folder).
    """
    start_time = time.perf_counter()
    ray = require("ray", "ray", "batch embedding on Ray")
    require("pyarrow", "parquet", "Parquet shards")
    if actors < 1:
        raise ParameterError(f"actors must be >= 1, got {actors}")
    spec = EncoderSpec(encoder) if encoder is None or isinstance(encoder, str) else encoder
    files = list_inputs([paths] if isinstance(paths, (str, os.PathLike)) else paths)
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"{out_dir} is a file; the output of a Ray job is a folder of shards")
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = _settings(spec, field, id_field)
    plan = ShardPlan.load(out_dir)
    if plan is None:
        if any(out_dir.glob("part-*.parquet")):
            raise ParameterError(f"{out_dir} holds shards of no embedlab job; use an empty folder")
        plan = ShardPlan.make(files, settings, shard_rows=shard_rows, field=field)
        plan.save(out_dir)
    else:
        why = plan.same_job(files, settings)
        if why is not None:
            raise ParameterError(
                f"{out_dir} holds another job's shards: {why}; give a new output folder"
            )
    done = plan.done(out_dir)
    todo = [s for s in plan.shards if s.name not in done]
    result = EmbedJobResult(out_dir, len(plan.shards), 0, len(done), plan.total_rows, 0, set(), 0.0)
    if todo:
        started = connect(ray, address, num_cpus)
        try:
            _run(
                ray,
                plan,
                todo,
                spec,
                out_dir,
                result,
                actors,
                threads,
                field,
                id_field,
                show_progress,
            )
        finally:
            if started:
                ray.shutdown()
    result.seconds = time.perf_counter() - start_time
    return result


def _settings(
    spec: EncoderSpec | Callable[[], Any], field: str, id_field: str | None
) -> dict[str, Any]:
    if isinstance(spec, EncoderSpec):
        encoder = spec.describe()
    else:
        name = getattr(spec, "__qualname__", type(spec).__qualname__)
        encoder = {"factory": f"{getattr(spec, '__module__', '?')}.{name}"}
    return {"encoder": encoder, "field": field, "id_field": id_field}


def _run(
    ray: Any,
    plan: ShardPlan,
    todo: list[Shard],
    spec: EncoderSpec | Callable[[], Any],
    out: Path,
    result: EmbedJobResult,
    actors: int,
    threads: int | None,
    field: str,
    id_field: str | None,
    show_progress: bool | None,
) -> None:
    context = ray.data.DataContext.get_current()
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # our bar and summary say it all
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    # a fixed pool starts whole before work is handed out (else the first actor up takes it all),
    # and a cluster too small for it fails with Ray's "Timed out while starting actors", not a hang
    context.wait_for_min_actors_s = 600
    if threads is None:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        threads = max(1, cpus // actors)
    items = [dataclasses.asdict(s) for s in todo]
    dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        ShardEmbedder,
        fn_constructor_kwargs={
            "spec": spec,
            "threads": threads,
            "field": field,
            "id_field": id_field,
        },
        batch_size=1,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=threads,
    )
    shards = {s.name: s for s in todo}
    bar = progress(
        total=sum(s.rows for s in todo), desc="embedding", unit="text", enabled=show_progress
    )
    key = plan.key
    with bar:
        pieces = dataset.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=0)
        try:
            for name, table in shard_tables(pieces):
                nodes = set(table.column("node").to_pylist())
                table = table.drop_columns(["shard", "rows_expected", "node"])
                write_shard(out, shards[name], table, key)
                result.embedded_shards += 1
                result.embedded_rows += table.num_rows
                result.nodes |= nodes
                bar.update(table.num_rows)
        except Exception as e:
            cause = _user_error(e)
            if cause is None:
                raise
            raise cause from None


def _user_error(error: BaseException) -> BaseException | None:
    """The embedlab or OS error an actor raised, out of Ray's wrappers (None: not one)."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, (EmbedlabError, OSError)) and seen is not error:
            return seen
        seen = getattr(seen, "cause", None) or seen.__cause__
    return None
