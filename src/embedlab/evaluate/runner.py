"""Running many models on many tasks, with embeddings cached per model and text, into one report.

``evaluate(models={"minilm": TransformerEncoder(), "w2v": vectors}, tasks=["en"], data_dir=...)``
turns a :class:`~embedlab.Vectors` into a mean :class:`~embedlab.encoders.StaticEncoder` (jieba
for Chinese text), encodes every distinct text once per model (two tasks over the same texts
encode once), optionally truncates to several ``dims`` (Matryoshka-style, rows renormalized) for a
dimension/quality curve, optionally compresses (``compress="pca:128,int8,binary,pq:48x8"``, see
:mod:`embedlab.compress.codecs`) for a retention report, and returns an :class:`EvalReport`.
A compression is fitted, per model, on the vectors of the texts the tasks embedded (no labels) or
on ``calibration`` texts; word vectors are compressed as a whole table and evaluated as a model
of their own. Each compressed variant ``model~name`` also records its bytes per vector, the index
memory for the texts seen and the queries a second it answers (top 10, searched the way the
compressed index searches). Word tasks run on the vectors
themselves, or, for a sentence encoder, on the vectors it gives each word of the dataset
(analogies need a vocabulary and are skipped for encoders). :mod:`embedlab.evaluate.report_files`
writes JSON, markdown and PNG plots.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import ParameterError
from ..rows import normalized, truncated
from ..vectors import Vectors
from .analogy import word_analogy
from .classification import cluster_scores, probe_scores
from .datasets import load_word_pairs
from .graph import is_graph_model, link_prediction_task
from .multimodal import image_text_retrieval, read_captioned, zero_shot_scores
from .retrieval import (
    load_beir,
    load_faq,
    load_retrieval_files,
    load_stackfaq,
    retrieval_metrics,
    search,
)
from .sentence import docsim_scores, pair_scores, sts_scores
from .tasks import TaskSpec, resolve_tasks, subsample
from .word_similarity import word_similarity

logger = logging.getLogger(__name__)

__all__ = ["EvalReport", "TaskScore", "evaluate"]

Matrix = npt.NDArray[np.float32]


@dataclass
class TaskScore:
    """One (model, task) cell: the main figure, every metric, and how long it took."""

    model: str
    task: str
    type: str
    language: str
    main: float | None
    metrics: dict[str, Any]
    seconds: float
    dim: int | None = None
    skipped: str | None = None


@dataclass
class EvalReport:
    scores: list[TaskScore] = field(default_factory=list)
    seconds: float = 0.0
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)  # model~codec -> facts

    def models(self) -> list[str]:
        return list(dict.fromkeys(s.model for s in self.scores))

    def tasks(self) -> list[str]:
        return list(dict.fromkeys(s.task for s in self.scores))

    def get(self, model: str, task: str) -> TaskScore | None:
        return next((s for s in self.scores if s.model == model and s.task == task), None)

    def metric_of(self, task: str) -> str:
        """The name of the main metric of ``task`` (from any model that ran it)."""
        done = [s for s in self.scores if s.task == task and s.main is not None]
        return str(done[0].metrics.get("main_metric", "")) if done else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "scores": [asdict(s) for s in self.scores],
            "variants": self.variants,
        }

    def retention(self) -> list[dict[str, Any]]:
        """Per compressed variant: its facts and each task's score as a share of its base's."""
        rows = []
        for label, facts in self.variants.items():
            kept = {}
            for task in self.tasks():
                mine, base = self.get(label, task), self.get(facts["base"], task)
                if mine and base and mine.main is not None and base.main:
                    kept[task] = mine.main / base.main
            mean = float(np.mean(list(kept.values()))) if kept else None
            rows.append({"variant": label, **facts, "retained": kept, "mean_retained": mean})
        return rows

    def retention_markdown(self) -> str:
        """One row a compressed variant: size, memory, speed, and % of its base's score."""
        tasks = self.tasks()
        head = "| variant | bytes/vector | index memory | queries/s | " + " | ".join(tasks)
        lines = [head + " | mean |", "|---" * (5 + len(tasks)) + "|"]
        for r in self.retention():
            cells = [f"{100 * r['retained'][t]:.1f}%" if t in r["retained"] else "-" for t in tasks]
            mean = "-" if r["mean_retained"] is None else f"{100 * r['mean_retained']:.1f}%"
            lines.append(
                f"| {r['variant']} | {r['bytes_per_vector']:g} | "
                f"{r['index_bytes'] / 2**20:.2f} MB | {r['queries_per_s']:,.0f} | "
                + " | ".join(cells)
                + f" | {mean} |"
            )
        return "\n".join(lines)

    def markdown(self) -> str:
        """Main figure per task (rows) and model (columns), x100, with the metric's name."""
        models = self.models()
        lines = [
            "| task | metric | " + " | ".join(models) + " |",
            "|---|---|" + "---|" * len(models),
        ]
        for task in self.tasks():
            first = self.metric_of(task)
            cells = []
            for m in models:
                s = self.get(m, task)
                cells.append("-" if s is None or s.main is None else f"{100 * s.main:.2f}")
            lines.append(f"| {task} | {first} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


class _Cache:
    """Unit-length embeddings of one model, computed once per distinct text; a view may truncate
    (``dims``) or compress (``codec``) them on the way out."""

    def __init__(self, encoder: Any, dims: int | None = None, codec: Any = None) -> None:
        self.encoder = encoder
        self.dims = dims
        self.codec = codec
        self.store: dict[str, npt.NDArray[np.float32]] = {}
        self.encoded = 0

    def images(self, paths: Sequence[Any]) -> Matrix:
        """Unit rows of images (cached by path), through the same truncation or codec."""
        if not callable(getattr(self.encoder, "encode_images", None)):
            raise _Skip("image tasks need an image encoder (a CLIP-family model)")
        keys = [f"\0image:{p}" for p in paths]
        fresh = list(dict.fromkeys(k for k in keys if k not in self.store))
        if fresh:
            source = dict(zip(keys, paths, strict=True))
            out = self.encoder.encode_images([source[k] for k in fresh], normalize=True)
            for k, v in zip(fresh, np.asarray(out, np.float32).reshape(len(fresh), -1)):
                self.store[k] = v
        mat = np.stack([self.store[k] for k in keys])
        if self.codec is not None:
            return self.codec.apply(mat)  # type: ignore[no-any-return]
        return mat if self.dims is None else truncated(mat, self.dims)

    def __call__(self, texts: Sequence[str]) -> Matrix:
        todo = list(dict.fromkeys(t for t in texts if t not in self.store))
        if todo:
            out = np.asarray(self.encoder.encode(todo, normalize=True), dtype=np.float32)
            self.encoded += len(todo)
            for t, v in zip(todo, out.reshape(len(todo), -1)):
                self.store[t] = v
        mat = np.stack([self.store[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)
        if self.codec is not None and len(mat):
            return self.codec.apply(mat)  # type: ignore[no-any-return]
        return mat if self.dims is None else truncated(mat, self.dims)


def _as_encoder(model: Any) -> Any:
    if is_graph_model(model):
        return None  # ranks triples; encodes nothing
    if isinstance(model, Vectors):
        from ..encoders import StaticEncoder

        return StaticEncoder(model, name="vectors")
    if not hasattr(model, "encode"):
        raise ParameterError(f"a model must be an Encoder or Vectors; got {type(model).__name__}")
    return model


def evaluate(
    models: Mapping[str, Any],
    tasks: Sequence[str | TaskSpec],
    *,
    data_dir: str | None = None,
    dims: Sequence[int] | None = None,
    compress: str | Sequence[str] | None = None,
    calibration: Sequence[str] | None = None,
    show_progress: bool | None = None,
) -> EvalReport:
    """Every model on every task; ``dims`` adds truncated variants named ``model@dim``,
    ``compress`` compressed ones named ``model~name`` (see the module docstring)."""
    specs = resolve_tasks(tasks, data_dir)
    for d in dims or ():
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise ParameterError(f"dims must be positive ints; got {d!r}")
    codecs: list[Any] = []
    if compress:
        from ..compress.codecs import parse_codecs

        codecs = parse_codecs(list(compress) if not isinstance(compress, str) else compress)
    report = EvalReport()
    start = time.perf_counter()
    steps = len(models) * len(specs) * (1 + len(codecs))
    with progress(total=steps, desc="evaluating", unit="task", enabled=show_progress) as bar:
        for name, model in models.items():
            encoder = _as_encoder(model)
            base = _Cache(encoder)
            variants: list[tuple[str, _Cache]] = [(name, base)]
            for d in dims or ():
                view = _Cache(encoder, d)
                view.store = base.store  # same full vectors, truncated on the way out
                variants.append((f"{name}@{d}", view))
            _run_all(report, model, encoder, variants, specs, bar)
            if codecs:
                _run_compressed(report, name, model, base, codecs, specs, calibration, bar)
    report.seconds = time.perf_counter() - start
    return report


def _run_all(
    report: EvalReport,
    model: Any,
    encoder: Any,
    variants: list[tuple[str, _Cache]],
    specs: Sequence[TaskSpec],
    bar: Any,
) -> None:
    for spec in specs:
        for label, cache in variants:
            dim = cache.dims or getattr(encoder, "dim", None)
            report.scores.append(_run_one(label, model, cache, spec, dim))
        bar.update(1)


def _run_compressed(
    report: EvalReport,
    name: str,
    model: Any,
    base: _Cache,
    codecs: Sequence[Any],
    specs: Sequence[TaskSpec],
    calibration: Sequence[str] | None,
    bar: Any,
) -> None:
    """Fit each codec on the model's vectors, evaluate the compressed variant, measure it."""
    if isinstance(model, Vectors):
        rows = np.asarray(model.vectors, dtype=np.float32)
    elif calibration:
        rows = base(list(calibration))
    else:
        rows = np.stack(list(base.store.values())) if base.store else np.zeros((0, 1), np.float32)
    if len(rows) < 2:
        raise ParameterError(f"{name}: no vectors to fit the compressions on")
    rng = np.random.default_rng(0)
    sample = rows[np.sort(rng.choice(len(rows), min(len(rows), 20_000), replace=False))]
    sample = normalized(sample)
    for codec in codecs:
        codec.fit(sample)
        label = f"{name}~{codec.name}"
        if isinstance(model, Vectors):
            unit = normalized(model.vectors)  # what the codec was fitted on: unit rows
            small = Vectors(list(model.index_to_key), codec.apply(unit), model.counts)
            encoder = _as_encoder(small)
            _run_all(report, small, encoder, [(label, _Cache(encoder))], specs, bar)
        else:
            view = _Cache(base.encoder, codec=codec)
            view.store = base.store
            _run_all(report, model, base.encoder, [(label, view)], specs, bar)
        report.variants[label] = {
            "base": name,
            "compression": codec.name,
            **_measure(codec, sample),
        }


def _measure(codec: Any, sample: Matrix) -> dict[str, float]:
    """Bytes per vector, index memory for the sample's rows, and top-10 queries a second."""
    index = codec.index(sample)
    queries = sample[: min(500, len(sample))]
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        codec.search(index, queries, 10)
        best = min(best, time.perf_counter() - t0)
    per = codec.bytes_per_vector()
    return {
        "bytes_per_vector": per,
        "index_bytes": per * len(sample) + codec.overhead_bytes(),
        "index_rows": float(len(sample)),
        "queries_per_s": len(queries) / max(best, 1e-9),
    }


def _run_one(label: str, model: Any, cache: _Cache, spec: TaskSpec, dim: int | None) -> TaskScore:
    t0 = time.perf_counter()
    try:
        result, metric = _dispatch(spec, model, cache)
    except _Skip as e:
        return TaskScore(label, spec.name, spec.type, spec.language, None, {}, 0.0, dim, str(e))
    metrics = {k: v for k, v in asdict(result).items()}
    metrics["main_metric"] = metric
    logger.info("%s on %s: %s %.4f", label, spec.name, metric, result.main)
    return TaskScore(
        label,
        spec.name,
        spec.type,
        spec.language,
        float(result.main),
        metrics,
        time.perf_counter() - t0,
        dim,
    )


class _Skip(Exception):
    pass


def _dispatch(spec: TaskSpec, model: Any, embed: _Cache) -> tuple[Any, str]:
    kind, opts = spec.type, spec.options
    if kind == "link-prediction":
        if not is_graph_model(model):
            raise _Skip("link prediction needs a knowledge-graph model (embedlab kg train)")
        return link_prediction_task(model, spec.path("folder"), opts.get("split", "test")), "mrr"
    if is_graph_model(model):
        raise _Skip("a knowledge-graph model ranks triples: link-prediction tasks only")
    if kind == "sts":
        d = spec.read("data", ["text1", "text2", "score"], numeric=["score"])
        return sts_scores(embed(d["text1"]), embed(d["text2"]), d["score"]), "spearman"
    if kind == "pairs":
        d = spec.read("data", ["text1", "text2", "label"], numeric=["label"])
        return pair_scores(embed(d["text1"]), embed(d["text2"]), d["label"]), "average_precision"
    if kind == "classification":
        seed = int(opts.get("seed", 0))
        if "train" in spec.files:
            tr = spec.read("train", ["text", "label"])
            te = spec.read("test", ["text", "label"])
            keep = subsample(len(tr["text"]), opts.get("max_train"), seed)
            texts = [tr["text"][i] for i in keep]
            labels = [str(tr["label"][i]) for i in keep]
            return probe_scores(
                embed(texts),
                labels,
                x_test=embed(te["text"]),
                y_test=[str(x) for x in te["label"]],
                seed=seed,
            ), "accuracy"
        d = spec.read("data", ["text", "label"])
        keep = subsample(len(d["text"]), opts.get("max_items"), seed)
        return probe_scores(
            embed([d["text"][i] for i in keep]),
            [str(d["label"][i]) for i in keep],
            folds=int(opts.get("folds", 5)),
            seed=seed,
        ), "accuracy"
    if kind == "clustering":
        d = spec.read("data", ["text", "label"])
        keep = subsample(len(d["text"]), opts.get("max_items"), int(opts.get("seed", 0)))
        return cluster_scores(
            embed([d["text"][i] for i in keep]), [str(d["label"][i]) for i in keep]
        ), "v_measure"
    if kind == "retrieval":
        data = _retrieval_data(spec)
        doc_ids, q_ids = list(data.corpus), list(data.queries)
        run = search(
            embed([data.queries[q] for q in q_ids]),
            embed([data.corpus[d] for d in doc_ids]),
            q_ids,
            doc_ids,
            k=100,
        )
        return retrieval_metrics(run, data.qrels, documents=len(doc_ids)), "ndcg_at_10"
    if kind == "docsim":
        docs = [
            line.strip()
            for line in spec.path("documents").read_text(encoding=spec.encoding).splitlines()
            if line.strip()
        ]
        human = np.loadtxt(spec.path("matrix"), dtype=np.float64)
        return docsim_scores(embed(docs), human), "pearson"
    if kind in ("image-text-retrieval", "zero-shot-images"):
        return _image_task(spec, embed)
    return _word_task(spec, model, embed)


def _image_task(spec: TaskSpec, embed: _Cache) -> tuple[Any, str]:
    from ..encoders.zeroshot import DEFAULT_TEMPLATES

    if not callable(getattr(embed.encoder, "encode_images", None)):
        raise _Skip("image tasks need an image encoder (a CLIP-family model)")
    split = spec.files.get("split")
    paths, texts, owner = read_captioned(
        spec.path("data"),
        spec.path("images"),
        image_column=spec.columns.get("image", "image"),
        text_column=spec.columns.get(
            "caption" if spec.type == "image-text-retrieval" else "label",
            "caption" if spec.type == "image-text-retrieval" else "label",
        ),
        split_table=None if split is None else spec.path("split"),
        split=spec.options.get("split"),
    )
    images = embed.images(paths)
    if spec.type == "image-text-retrieval":
        return image_text_retrieval(images, embed(texts), owner), "mean_recall"
    gold: dict[int, str] = {}
    for label, o in zip(texts, owner, strict=True):
        gold.setdefault(o, label)
    labels = list(spec.options.get("labels") or dict.fromkeys(gold.values()))
    templates = spec.options.get("templates") or DEFAULT_TEMPLATES
    prompts = [t.format(label) for label in labels for t in templates]
    # encoders.zeroshot.label_vectors' ensembling, through the cache (and its truncation or codec)
    rows = embed(prompts).reshape(len(labels), len(templates), -1).mean(axis=1)
    predicted = [labels[int(i)] for i in (images @ normalized(rows).T).argmax(axis=1)]
    return zero_shot_scores(
        predicted, [gold[i] for i in range(len(paths))], len(labels)
    ), "accuracy"


def _retrieval_data(spec: TaskSpec) -> Any:
    layout = spec.options.get("layout", "beir")
    if layout == "beir":
        return load_beir(spec.path("folder"), spec.options.get("split", "test"))
    if layout == "stackfaq":
        return load_stackfaq(spec.path("data"))
    if layout == "faq":
        c = spec.columns
        return load_faq(
            spec.path("items"),
            spec.path("queries"),
            item_id=c.get("item_id", "id"),
            item_text=c.get("item_text", "text"),
            query_text=c.get("query_text", "query"),
            query_item=c.get("query_item", "id"),
        )
    if layout == "files":
        return load_retrieval_files(
            spec.path("corpus"),
            spec.path("queries"),
            spec.path("qrels"),
            id_column=spec.columns.get("id", "id"),
            text_column=spec.columns.get("text", "text"),
        )
    raise ParameterError(f"retrieval layout {layout!r} is not one of beir, files, faq, stackfaq")


def _word_task(spec: TaskSpec, model: Any, embed: _Cache) -> tuple[Any, str]:
    source = spec.files.get("data", "")
    target = source if not (spec.base / source).exists() else str(spec.base / source)
    if spec.type == "word-analogy":
        if not isinstance(model, Vectors) or embed.dims is not None:
            raise _Skip("analogies need a word vocabulary (Vectors)")
        return word_analogy(model, target, restrict_vocab=30000), "accuracy"
    if isinstance(model, Vectors) and embed.dims is None:
        return word_similarity(model, target), "spearman"
    pairs = load_word_pairs(target)
    words = sorted({w for a, b in pairs.pairs for w in (a, b)})
    vectors = Vectors(words, embed(words))
    return word_similarity(vectors, target), "spearman"
