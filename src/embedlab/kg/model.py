"""Knowledge-graph embedding models: `TransE`, `DistMult`, `ComplEx`, `RotatE`.

Estimator shape, as :class:`~embedlab.static.Word2Vec`: parameters in ``__init__``, ``fit(train)``
returns self, learned state ends in ``_`` (``entity_vectors_``, ``relation_vectors_``,
``loss_history_``). Training is PyKEEN's stochastic local closed-world assumption (sLCWA): every
positive triple of a shuffled batch gets ``negatives`` corrupted copies, all of one side (head or
tail, chosen per positive: ``"uniform"`` half and half, ``"bernoulli"`` by the relation's
tails-per-head / heads-per-tail, Wang et al. 2014), each a random entity other than the true one.
Losses: ``"margin"`` (pairwise ranking, TransE's), ``"softplus"`` / ``"bce"`` (pointwise logistic:
the same function), ``"nssa"`` (self-adversarial negative sampling, RotatE's; ``temperature`` 0 is
plain negative sampling). The optimiser is Adam (PyKEEN's default): the rows a batch touched take
their step, and the others' momentum drift is applied in closed form when they are next touched
(dense Adam's trajectory at sparse cost); TransE and DistMult keep entities on the unit sphere (as
PyKEEN and the TransE paper do). The numba kernels
(:mod:`._kernels`) compute everything per positive without tensors; ``workers=1`` is exact and
reproducible with a ``seed``, more threads add gradients Hogwild-style.

Epochs end with the callbacks, a TensorBoard point and, when ``checkpoint_dir`` is set and
``every`` steps passed since the last one, a checkpoint; ``fit(..., resume=True)`` continues from
it exactly (each epoch's randomness comes from ``(seed, epoch)``). ``max_time`` stops at the end of
the epoch that passes it. ``fit(train, text=...)`` makes a model text-aware (:mod:`.text`: a
description expert trained beside the structure one, scores fused with ``text_weight``). This
module does not read files (:mod:`.triples`) or rank
(:mod:`.evaluate`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from .._progress import progress
from ..errors import NotFittedError, ParameterError
from ..fitting.checkpoint import Checkpoint, vocab_digest
from ..fitting.jit import announce, numba_threads, one_blas_thread
from ..fitting.params import Constraint, Interval, OneOf, check_params
from ..fitting.tensorboard import ScalarWriter
from ..vectors import Vectors
from . import _kernels as K
from .text import TextExpert, align
from .triples import Triples

logger = logging.getLogger(__name__)

__all__ = ["MODELS", "ComplEx", "DistMult", "KGModel", "RotatE", "TransE"]

FloatArray = npt.NDArray[np.float32]
_LOSSES = {"margin": K.MARGIN, "softplus": K.SOFTPLUS, "bce": K.SOFTPLUS, "nssa": K.NSSA}


class Callback(Protocol):
    """Called after every epoch with the model, the epoch (1-based) and its mean loss."""

    def __call__(self, model: Any, epoch: int, loss: float) -> None: ...


class KGModel:
    """The shared trainer; a subclass fixes the score function (``_code``) and its defaults."""

    name: ClassVar[str] = ""
    _code: ClassVar[int] = -1
    _complex: ClassVar[bool] = False  # entities are complex: 2 * dim floats
    _unit_entities: ClassVar[bool] = False
    _SPEC: ClassVar[dict[str, Constraint]] = {
        "dim": Interval(int, 1, None),
        "negatives": Interval(int, 1, None),
        "loss": OneOf(tuple(_LOSSES)),
        "margin": Interval(float, 0, None),
        "temperature": Interval(float, 0, None),
        "sampler": OneOf(("uniform", "bernoulli")),
        "p": OneOf((1, 2)),
        "lr": Interval(float, 0, None, closed_low=False),
        "batch_size": Interval(int, 1, None),
        "epochs": Interval(int, 1, None),
        "workers": Interval(int, 1, None, none_ok=True),
        "seed": Interval(int, 0, 2**63 - 1),
        "every": Interval(int, 1, None, none_ok=True),
        "max_time": Interval(float, 0, None, none_ok=True),
        "text_dim": Interval(int, 1, None, none_ok=True),
        "text_weight": Interval(float, 0, None),
    }
    # each model's defaults: these, with what its class changes
    _DEFAULTS: ClassVar[dict[str, Any]] = {
        "dim": 50, "negatives": 1, "loss": "margin", "margin": 1.0, "temperature": 1.0, "p": 2,
        "lr": 1e-3, "batch_size": 512, "epochs": 100,
    }  # fmt: skip
    _BETAS: ClassVar[tuple[float, float]] = (0.9, 0.999)  # Adam's, as torch's defaults
    _EPS: ClassVar[float] = 1e-8
    _RUN_ONLY: ClassVar[tuple[str, ...]] = ("epochs", "max_time", "text_weight")  # may change
    info_: dict[str, Any]  # what kg.json held, on a loaded model
    _text: TextExpert | None = None  # the description expert of a text-aware model

    def __init__(
        self,
        *,
        dim: int | None = None,
        negatives: int | None = None,
        loss: str | None = None,
        margin: float | None = None,
        temperature: float | None = None,
        sampler: str = "uniform",
        p: int | None = None,
        lr: float | None = None,
        batch_size: int | None = None,
        epochs: int | None = None,
        workers: int | None = None,
        seed: int = 1,
        every: int | None = None,
        max_time: float | None = None,
        text_dim: int | None = 128,
        text_weight: float = 1.0,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        tensorboard_dir: str | os.PathLike[str] | None = None,
        callbacks: Sequence[Callback] = (),
        show_progress: bool | None = None,
    ) -> None:
        d = self._DEFAULTS  # None: this model's default
        self.dim: int = d["dim"] if dim is None else dim
        self.negatives: int = d["negatives"] if negatives is None else negatives
        self.loss: str = d["loss"] if loss is None else loss
        self.margin: float = d["margin"] if margin is None else margin
        self.temperature: float = d["temperature"] if temperature is None else temperature
        self.p: int = d["p"] if p is None else p
        self.lr: float = d["lr"] if lr is None else lr
        self.batch_size: int = d["batch_size"] if batch_size is None else batch_size
        self.epochs: int = d["epochs"] if epochs is None else epochs
        self.sampler = sampler
        self.workers = workers
        self.seed = seed
        self.every = every
        self.max_time = max_time
        self.text_dim = text_dim
        self.text_weight = text_weight
        self.checkpoint_dir = checkpoint_dir
        self.tensorboard_dir = tensorboard_dir
        self.callbacks = callbacks
        self.show_progress = show_progress

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._SPEC}

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("dim", "loss", "negatives"))
        return f"{type(self).__name__}({shown})"

    # -- learned state --------------------------------------------------------------------------
    def _fitted(self) -> Triples:
        if not hasattr(self, "_E"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(triples) first."
            )
        return self._graph

    @property
    def entities_(self) -> list[str]:
        return list(self._fitted().entities)

    @property
    def relations_(self) -> list[str]:
        return list(self._fitted().relations)

    @property
    def entity_vectors_(self) -> Vectors:
        """Entity embeddings as ordinary vectors (complex ones: ``[re..., im...]``; a
        text-aware model's structure expert: the entities it was trained on)."""
        graph = self._fitted()
        return Vectors(graph.entities[: len(self._E)], self._E.copy())

    @property
    def relation_vectors_(self) -> Vectors:
        """Relation embeddings (RotatE: the rotations as unit complex numbers ``[cos..., sin...]``)."""
        graph = self._fitted()
        table = self._R
        if self._code == K.ROTATE:
            table = np.concatenate([np.cos(table), np.sin(table)], axis=1).astype(np.float32)
        return Vectors(graph.relations, table.copy())

    @property
    def loss_history_(self) -> list[float]:
        """The mean loss of each epoch (a text-aware model's: both experts' summed)."""
        self._fitted()
        return list(self._loss_history)

    # -- training -------------------------------------------------------------------------------
    def _shapes(self) -> tuple[int, int]:
        d = self.dim
        width = 2 * d if self._complex else d
        rel = d if self._code == K.ROTATE else width
        return width, rel

    def _tables(self, graph: Triples, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
        width, rel = self._shapes()
        bound = math.sqrt(6.0 / width)  # PyKEEN's xavier_uniform_ (fan_out = the row's size)
        E = rng.uniform(-bound, bound, size=(graph.num_entities, width)).astype(np.float32)
        if self._code == K.ROTATE:
            R = rng.uniform(0, 2 * np.pi, size=(graph.num_relations, rel)).astype(np.float32)
        else:
            R = rng.uniform(-bound, bound, size=(graph.num_relations, rel)).astype(np.float32)
        if self._unit_entities:
            E /= np.linalg.norm(E, axis=1, keepdims=True)
        if self._code == K.TRANSE:
            R /= np.linalg.norm(R, axis=1, keepdims=True)  # PyKEEN's xavier_uniform_norm_
        return E, R

    def _init(self, graph: Triples, rng: np.random.Generator, raw: FloatArray | None) -> None:
        E, R = self._tables(graph, rng)
        self._text = None
        if raw is not None:  # its own draws: the structure expert is the structure-only model
            other = np.random.default_rng([self.seed, 0, 1])
            _, R_text = self._tables(graph, other)
            self._text = TextExpert.fit(raw, R_text, E.shape[1], self.text_dim, other)
        self._E, self._R = E, R
        self._mE, self._vE = np.zeros_like(E), np.zeros_like(E)
        self._mR, self._vR = np.zeros_like(R), np.zeros_like(R)
        self._lastE = np.zeros(len(E), dtype=np.int64)  # the Adam step each row is up to
        self._lastR = np.zeros(len(R), dtype=np.int64)
        self._steps = 0
        self._epochs_done = 0
        self._loss_history: list[float] = []

    def _tail_probability(self, graph: Triples) -> npt.NDArray[np.float64]:
        """Per relation, the probability of corrupting the tail."""
        if self.sampler == "uniform":
            return np.full(graph.num_relations, 0.5)
        out = np.full(graph.num_relations, 0.5)
        for r in range(graph.num_relations):
            rows = graph.ids[graph.ids[:, 1] == r]
            if len(rows) == 0:
                continue
            tph = len(rows) / len(np.unique(rows[:, 0]))  # tails per head
            hpt = len(rows) / len(np.unique(rows[:, 2]))  # heads per tail
            out[r] = hpt / (tph + hpt)  # many tails per head: corrupt the head more often
        return out

    def fit(
        self,
        train: Triples,
        *,
        text: Vectors | npt.ArrayLike | None = None,
        resume: bool = False,
    ) -> KGModel:
        """Train on ``train``'s triples (its entity and relation tables become the model's).

        ``text``: the entities' description vectors (a :class:`Vectors` keyed by entity id, as
        :func:`~embedlab.kg.text.describe` makes, or rows aligned with ``train.entities``) make
        the model text-aware (:mod:`.text`): a description expert trains beside the structure
        one, and :meth:`add_entities` places entities no triple mentions."""
        check_params(type(self).__name__, self.get_params(), self._SPEC)
        if len(train) == 0:
            raise ParameterError("no training triples")
        started = time.perf_counter()
        raw = None if text is None else align(text, train.entities)
        self._graph = train
        digest = vocab_digest([*train.entities, "\t", *train.relations])
        if resume:
            self._resume(train, digest, raw)
        else:
            self._init(train, np.random.default_rng([self.seed, 0]), raw)
        tp = self._text
        tail_p = self._tail_probability(train)
        writer = ScalarWriter(self.tensorboard_dir) if self.tensorboard_dir is not None else None
        loss_code = _LOSSES[self.loss]
        n = len(train)
        per_epoch = math.ceil(n / self.batch_size)
        bar = progress(
            total=per_epoch * (self.epochs - self._epochs_done),
            desc=f"{self.name}",
            unit="batch",
            enabled=self.show_progress,
            unit_scale=False,
        )
        announce(K.train_batch, self.name, bar)
        touched_e = np.zeros(train.num_entities, dtype=np.uint8)
        touched_r = np.zeros(train.num_relations, dtype=np.uint8)
        GE, GR = np.zeros_like(self._E), np.zeros_like(self._R)
        self._idle = K.idle_table(self.lr, *self._BETAS, per_epoch * self.epochs)
        last_checkpoint = self._steps
        self.stopped_early_ = False
        blas = one_blas_thread() if tp is not None else contextlib.nullcontext()
        with bar, numba_threads(self.workers), blas:
            for epoch in range(self._epochs_done + 1, self.epochs + 1):
                rng = np.random.default_rng([self.seed, epoch])
                order = rng.permutation(n)
                total = 0.0
                for start in range(0, n, self.batch_size):
                    pos = train.ids[order[start : start + self.batch_size]]
                    side = rng.random(len(pos)) < tail_p[pos[:, 1]]
                    true = np.where(side, pos[:, 2], pos[:, 0])
                    neg = rng.integers(0, train.num_entities - 1, size=(len(pos), self.negatives))
                    neg += neg >= true[:, None]  # never the true entity (PyKEEN's shift)
                    kind = (self._code, self.p, loss_code, float(self.margin),
                            float(self.temperature))  # fmt: skip
                    loss = K.train_batch(
                        *kind, self._E, self._R, GE, GR, touched_e, touched_r, pos, side, neg
                    )
                    self._steps += 1
                    self._adam(GE, GR, touched_e, touched_r)
                    if tp is not None:  # the description expert, on the same batch
                        opt = (self._idle, self.lr, *self._BETAS, self._EPS, self._steps)
                        loss += tp.step(K.train_batch, K.adam_rows, kind, (pos, side, neg), opt)
                    total += loss * len(pos)
                    bar.update(1)
                self._flush()
                mean = total / n
                if not math.isfinite(mean):
                    raise ParameterError(
                        f"the loss diverged in epoch {epoch} ({mean}); lower lr (now {self.lr})"
                    )
                self._loss_history.append(mean)
                self._epochs_done = epoch
                bar.set_postfix(epoch=epoch, loss=f"{mean:.4f}")
                if writer is not None:
                    writer.add_scalar("train/loss", mean, step=epoch)
                for callback in self.callbacks:
                    callback(self, epoch, mean)
                timed_out = (
                    self.max_time is not None and time.perf_counter() - started > self.max_time
                )
                if self.checkpoint_dir is not None and (
                    timed_out
                    or epoch == self.epochs
                    or self.every is None
                    or self._steps - last_checkpoint >= self.every
                ):
                    self._checkpoint(digest)
                    last_checkpoint = self._steps
                if timed_out and epoch < self.epochs:
                    self.stopped_early_ = True
                    logger.info("%s: max_time reached after epoch %d", self.name, epoch)
                    break
        if writer is not None:
            writer.close()
        return self

    def _adam(self, GE: FloatArray, GR: FloatArray, te: Any, tr: Any) -> None:
        args = (self._idle, self.lr, *self._BETAS, self._EPS, self._steps)
        K.adam_rows(self._E, GE, self._mE, self._vE, self._lastE, te, *args, self._unit_entities)
        K.adam_rows(self._R, GR, self._mR, self._vR, self._lastR, tr, *args, False)

    def _flush(self) -> None:
        """Every row up to the current step (an epoch's end: tables read or saved after)."""
        args = (self._idle, *self._BETAS, self._steps)
        K.adam_flush(self._E, self._mE, self._vE, self._lastE, *args, self._unit_entities)
        K.adam_flush(self._R, self._mR, self._vR, self._lastR, *args, False)
        if self._text is not None:
            tp = self._text
            K.adam_flush(tp.R, tp.mR, tp.vR, tp.lastR, *args, False)
            tp.refresh()

    def _state(self) -> dict[str, Any]:
        text = {} if self._text is None else self._text.state()
        return {
            "entities": self._E, "relations": self._R, "m_entities": self._mE,
            "v_entities": self._vE, "m_relations": self._mR, "v_relations": self._vR, **text,
        }  # fmt: skip

    def add_entities(self, names: Sequence[str], text: Vectors | npt.ArrayLike) -> None:
        """Give entities that no training triple mentions their vectors from their descriptions
        (``text``: as for :meth:`fit`, raw vectors of the same encoder), so they can be ranked
        and asked about; their ids follow the model's (a test split read with
        ``unseen="add"`` lines up)."""
        graph = self._fitted()
        if self._text is None:
            raise ParameterError(
                f"this {type(self).__name__} was trained without entity descriptions: it cannot "
                "place new entities (train with text=..., `kg train --text`)"
            )
        names = list(names)
        if not names:
            return
        known = [n for n in names if n in graph._entity_index]
        if known:
            raise ParameterError(f"already in the model: {', '.join(map(repr, known[:5]))}")
        if isinstance(text, Vectors):
            empty = [n for n in names if n not in text]
        else:
            raw = align(text, names)
            empty = [n for n, row in zip(names, raw, strict=True) if not np.abs(row).sum()]
        if empty:
            raise ParameterError(
                f"{len(empty)} new entities have no description vector ({empty[0]!r}...)"
            )
        self._text.add(align(text, names))
        self._graph = Triples(graph.ids, [*graph.entities, *names], graph.relations, graph.source)

    def _model_params(self) -> dict[str, Any]:
        """The parameters a checkpoint must share with the run resuming it."""
        return {k: v for k, v in self.get_params().items() if k not in self._RUN_ONLY}

    def _checkpoint(self, digest: str) -> None:
        assert self.checkpoint_dir is not None
        Checkpoint(
            trainer=type(self).__name__,
            params={**self._model_params(), "steps": self._steps, "text": self._text is not None},
            epochs_done=self._epochs_done,
            loss_history=self._loss_history,
            vocab_size=self._graph.num_entities,
            vocab_sha256=digest,
            weights=self._state(),
        ).save(Path(self.checkpoint_dir))

    def _resume(self, graph: Triples, digest: str, raw: FloatArray | None) -> None:
        if self.checkpoint_dir is None:
            raise ParameterError("resume=True needs a checkpoint_dir")
        folder = Path(self.checkpoint_dir)
        if not (folder / "state.json").exists():
            raise ParameterError(f"no checkpoint to resume in {folder}")
        ckpt = Checkpoint.load(folder)
        mine = self._model_params()
        mine["text"] = raw is not None
        theirs = {k: v for k, v in ckpt.params.items() if k != "steps"}
        theirs.setdefault("text", False)
        if ckpt.trainer != type(self).__name__ or theirs != mine:
            changed = sorted(k for k in {*mine, *theirs} if mine.get(k) != theirs.get(k))
            raise ParameterError(
                f"the checkpoint in {folder} is of a {ckpt.trainer} with other settings "
                f"({', '.join(changed) or 'the model'}); start a new run"
            )
        if ckpt.vocab_sha256 != digest:
            raise ParameterError(f"the checkpoint in {folder} was trained on other triples")
        w = ckpt.weights
        self._E, self._R = w["entities"].copy(), w["relations"].copy()
        self._text = None if raw is None else TextExpert.from_state(w, raw)
        self._mE, self._vE = w["m_entities"].copy(), w["v_entities"].copy()
        self._mR, self._vR = w["m_relations"].copy(), w["v_relations"].copy()
        self._steps = int(ckpt.params["steps"])
        self._lastE = np.full(len(self._E), self._steps, dtype=np.int64)  # flushed when saved
        self._lastR = np.full(len(self._R), self._steps, dtype=np.int64)
        if self._text is not None:
            self._text.lastR = self._lastR.copy()
        self._epochs_done = ckpt.epochs_done
        self._loss_history = list(ckpt.loss_history)

    # -- scoring --------------------------------------------------------------------------------
    def query_vectors(self, triples: npt.ArrayLike, tail_side: npt.ArrayLike) -> FloatArray:
        """The query of each triple (``(h, r, ?)`` where ``tail_side``, else ``(?, r, t)``); a
        text-aware model's is the structure expert's then the description expert's (NaN for
        the first where the fixed entity is one the structure expert never saw)."""
        self._fitted()
        ids = np.ascontiguousarray(triples, dtype=np.int64).reshape(-1, 3)
        sides = np.ascontiguousarray(np.broadcast_to(tail_side, len(ids)), dtype=np.bool_)
        if self._text is None:
            return K.queries(self._code, self._E, self._R, ids, sides)  # type: ignore[no-any-return]
        fixed = np.where(sides, ids[:, 0], ids[:, 2])
        unseen = fixed >= len(self._E)
        known = ids.copy()
        known[unseen, 0] = known[unseen, 2] = 0
        Qs = K.queries(self._code, self._E, self._R, known, sides)
        Qs[unseen] = np.nan
        Qt = K.queries(self._code, self._text.S, self._text.R, ids, sides)
        return np.ascontiguousarray(np.hstack([Qs, Qt]))

    def _score(self, Q: FloatArray, E: FloatArray) -> FloatArray:
        if self._code in (K.DISTMULT, K.COMPLEX):
            return Q @ E.T
        if self.p == 1:
            return K.score_all_l1(self._code, Q, E)  # type: ignore[no-any-return]
        sq = (Q * Q).sum(1)[:, None] + (E * E).sum(1)[None, :] - 2.0 * (Q @ E.T)
        return -np.sqrt(np.maximum(sq, 0.0, out=sq), out=sq)  # type: ignore[no-any-return]

    def expert_scores(self, queries: FloatArray) -> tuple[FloatArray, FloatArray]:
        """A text-aware model's two score matrices ``[n, N]``, structure and description, before
        fusing: the structure expert's part is neutral where it cannot judge (a query about an
        entity it never saw: 0; such an entity as a candidate: the query's mean score)."""
        assert self._text is not None
        Q = np.ascontiguousarray(queries, dtype=np.float32)
        w = self._E.shape[1]
        text = self._score(np.ascontiguousarray(Q[:, w:]), self._text.S)
        seen = self._score(np.ascontiguousarray(Q[:, :w]), self._E)
        structure = np.empty_like(text)
        structure[:, : seen.shape[1]] = seen
        structure[:, seen.shape[1] :] = seen.mean(1, keepdims=True)
        structure[np.isnan(Q[:, 0])] = 0.0
        return structure, text

    def score_candidates(self, queries: FloatArray) -> FloatArray:
        """Scores ``[n, N]`` of every entity for each query; higher is more plausible (a
        text-aware model's: ``structure + text_weight * description``)."""
        if self._text is None:
            return self._score(np.ascontiguousarray(queries, dtype=np.float32), self._E)
        structure, text = self.expert_scores(queries)
        structure += np.float32(self.text_weight) * text
        return structure

    def predict(
        self,
        relation: str,
        *,
        head: str | None = None,
        tail: str | None = None,
        k: int = 10,
        exclude: Triples | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best tails of ``(head, relation, ?)``, or heads of ``(?, relation, tail)``,
        with their scores; answers already in ``exclude`` (say the training triples) are
        skipped, so what is left are the model's new facts."""
        graph = self._fitted()
        if (head is None) == (tail is None):
            raise ParameterError("give the head or the tail, and leave the other side to predict")
        r = graph.relation_id(relation)
        h = graph.entity_id(head) if head is not None else 0
        t = graph.entity_id(tail) if tail is not None else 0
        tail_side = head is not None
        scores = self.score_candidates(self.query_vectors([[h, r, t]], tail_side))[0]
        if exclude is not None:
            ids = exclude.ids
            if tail_side:
                known = ids[(ids[:, 0] == h) & (ids[:, 1] == r), 2]
            else:
                known = ids[(ids[:, 2] == t) & (ids[:, 1] == r), 0]
            scores[known] = -np.inf
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(graph.entities[i], float(scores[i])) for i in best if np.isfinite(scores[i])]

    def score_triples(self, triples: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The score of each ``(h, r, t)`` id triple."""
        ids = np.ascontiguousarray(triples, dtype=np.int64).reshape(-1, 3)
        Q = self.query_vectors(ids, True)
        if self._text is not None:  # fused: the neutral part needs every candidate's score
            out = []
            for i in range(0, len(ids), 256):
                block = self.score_candidates(Q[i : i + 256])
                out.append(block[np.arange(len(block)), ids[i : i + 256, 2]])
            return np.concatenate(out).astype(np.float64)
        return np.array(
            [K.score(self._code, self.p, Q[i], self._E, ids[i, 2]) for i in range(len(ids))]
        )


class TransE(KGModel):
    """Bordes et al. (2013): ``h + r ~ t``; score ``-||h + r - t||_p``, entities on the unit sphere."""

    name, _code, _unit_entities = "transe", K.TRANSE, True
    _DEFAULTS: ClassVar[dict[str, Any]] = {**KGModel._DEFAULTS, "p": 1}


class DistMult(KGModel):
    """Yang et al. (2015): score ``<h, r, t>``, entities on the unit sphere."""

    name, _code, _unit_entities = "distmult", K.DISTMULT, True


class ComplEx(KGModel):
    """Trouillon et al. (2016): score ``Re(<h, r, conj(t)>)`` over complex vectors of ``dim``."""

    name, _code, _complex = "complex", K.COMPLEX, True
    _DEFAULTS: ClassVar[dict[str, Any]] = {**KGModel._DEFAULTS, "loss": "softplus"}


class RotatE(KGModel):
    """Sun et al. (2019): relations rotate ``h`` in the complex plane; score ``-||h * r - t||``
    (``p=2``: the L2 norm of the complex vector, as PyKEEN; ``p=1``: the sum of moduli, as the
    paper's code), self-adversarial negative sampling."""

    name, _code, _complex = "rotate", K.ROTATE, True
    _DEFAULTS: ClassVar[dict[str, Any]] = {
        **KGModel._DEFAULTS, "dim": 200, "negatives": 64, "loss": "nssa", "margin": 6.0,
        "temperature": 0.5, "epochs": 50,
    }  # fmt: skip


MODELS: dict[str, type[KGModel]] = {m.name: m for m in (TransE, DistMult, ComplEx, RotatE)}
