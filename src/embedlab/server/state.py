"""What a running server holds: each served model once, the collections and FAQs, by name.

:class:`ServerState` is built by :meth:`ServerState.start` when the app starts and closed when it
stops. A neural model named in the config runs in its own process (:class:`EncoderProcess`,
``cfg.isolate``), and the server's process holds no copy of it: the child reports the model's
dimension, name and maximum length, and counts ``usage`` tokens. A static (lookup-table) model, a
model with ``isolate`` off, and an encoder object passed in by the caller run in the server's
process, their tokens counted by the micro-batcher's thread. Collections and FAQs open with the
encoder they were built with, one copy per model source however many of them use it. This module
does not route requests.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .batcher import MicroBatcher
from .config import ServerConfig
from .usage import token_counter

logger = logging.getLogger(__name__)

__all__ = ["ServedModel", "ServerState"]


@dataclass
class ServedModel:
    """One model the embeddings route serves: its batcher, and its process when isolated."""

    name: str
    dim: int
    batcher: MicroBatcher
    worker: Any = None  # the EncoderProcess, when the model runs in its own process
    calibration: Any = None  # its vectors of server.quantized's texts, once int8 is asked for

    @property
    def encoder(self) -> Any:
        """What the batcher calls: the encoder object, or the worker process."""
        return self.batcher.encoder


@dataclass
class ServerState:
    models: dict[str, ServedModel] = field(default_factory=dict)
    collections: dict[str, Any] = field(default_factory=dict)
    faqs: dict[str, Any] = field(default_factory=dict)
    recommenders: dict[str, Any] = field(default_factory=dict)
    monitors: dict[str, Any] = field(default_factory=dict)
    graphs: dict[str, Any] = field(default_factory=dict)  # name -> ServedGraph

    @classmethod
    async def start(
        cls,
        cfg: ServerConfig,
        encoders: Mapping[str, Any],
        collections: Mapping[str, Any],
        faqs: Mapping[str, Any],
        recommenders: Mapping[str, Any] | None = None,
        monitors: Mapping[str, Any] | None = None,
    ) -> ServerState:
        """Open what the config names and the caller did not pass in, and start the batchers."""
        import asyncio

        state = cls(
            collections=dict(collections), faqs=dict(faqs),
            recommenders=dict(recommenders or {}), monitors=dict(monitors or {}),
        )  # fmt: skip
        runners = await asyncio.to_thread(_runners, cfg, dict(encoders))
        for name, (runner, worker) in runners.items():
            counter = None if worker is not None else token_counter(runner)
            batcher = MicroBatcher(
                runner,
                counter=counter,
                max_batch=cfg.max_batch,
                max_wait=cfg.max_wait_ms / 1000,
                max_gap=cfg.max_gap_ms / 1000,
                max_pending=cfg.limits.max_pending,
            )
            await batcher.start()
            state.models[name] = ServedModel(name, int(runner.dim), batcher, worker)
        await asyncio.to_thread(state._open_data, cfg)
        logger.info("serving models %s", sorted(state.models))
        return state

    def _open_data(self, cfg: ServerConfig) -> None:
        from ..encoders import load_encoder

        if cfg.recommenders:  # item vectors and weights only: no encoder to load
            from ..apps.recommend import Recommender

            for name, spec in cfg.recommenders.items():
                if name not in self.recommenders:
                    self.recommenders[name] = Recommender.load(cfg.resolve(spec["path"]))

        loaded: dict[str, Any] = {}  # one encoder per source, shared by collections and FAQs

        def encoder(source: str | None) -> Any:
            key = str(source)
            if key not in loaded:
                loaded[key] = load_encoder(source)
            return loaded[key]

        for name, spec in cfg.graphs.items():  # tables and names only: no encoder to load
            if name not in self.graphs:
                self.graphs[name] = _graph(cfg, spec)
        for name, spec in cfg.monitors.items():
            if name not in self.monitors:
                self.monitors[name] = _monitor(cfg, spec, encoder)
        kinds: list[tuple[dict[str, Any], dict[str, dict[str, Any]], Any]] = []
        if cfg.collections:
            from ..search import Collection

            kinds.append((self.collections, cfg.collections, Collection))
        if cfg.faqs:
            from ..apps import FAQ

            kinds.append((self.faqs, cfg.faqs, FAQ))
        for opened, specs, kind in kinds:  # both record the model they were built with
            for name, spec in specs.items():
                if name not in opened:
                    path = cfg.resolve(spec["path"])
                    src = spec.get("model") or kind.recorded_source(path)
                    opened[name] = kind.open(path, encoder(src), **_sparse(kind, path))

    async def stop(self) -> None:
        """Finish the queued work, then stop the batchers and the model processes."""
        for model in self.models.values():
            await model.batcher.stop()
        for monitor in self.monitors.values():
            monitor.close()
        for model in self.models.values():
            if model.worker is not None:
                model.worker.close()


@dataclass
class ServedGraph:
    """A graph model with its entities' texts (``{id: "name, description"}``, maybe empty)."""

    model: Any
    texts: dict[str, str]


def _graph(cfg: ServerConfig, spec: dict[str, Any]) -> ServedGraph:
    """A graph of the config: ``{"path": MODEL, "text": entity2text.txt}`` (the text file
    recorded at training when none is named)."""
    from ..kg import read_entity_text
    from ..kg.store import load_model

    model = load_model(cfg.resolve(spec["path"]))
    text = spec.get("text") or model.info_.get("text", {}).get("file")
    named = cfg.resolve(text) if text else None
    return ServedGraph(model, read_entity_text(named) if named and named.exists() else {})


def _monitor(cfg: ServerConfig, spec: dict[str, Any], encoder: Any) -> Any:
    """A monitor of the config: ``{"path": state, "probe": probe.json, "model": ..., "entities":
    ..., "rules": ..., "topics": topics.json, "window_hours": 24}`` (paths relative to the
    config); ``"classifier": folder, "label_names": {"0": "bearish", ...}`` instead of a probe
    for a fine-tuned classifier."""
    from ..apps.monitor import EntityList, FineTunedSentiment, Monitor, Rule, SentimentProbe, Topics

    probe: Any
    if spec.get("classifier"):
        names = spec.get("label_names") or {}
        probe = FineTunedSentiment.load(cfg.resolve(spec["classifier"]), label_names=names)
    else:
        probe = SentimentProbe.load(cfg.resolve(spec["probe"]))
    model = spec.get("model") or getattr(probe, "encoder", None)
    needs_encoder = not spec.get("classifier") or spec.get("topics")
    return Monitor(
        cfg.resolve(spec["path"]), encoder(model) if needs_encoder else None, probe,
        entities=EntityList.read(cfg.resolve(spec["entities"])) if spec.get("entities") else None,
        rules=Rule.read(cfg.resolve(spec["rules"])) if spec.get("rules") else (),
        window=float(spec.get("window_hours", 24)) * 3600,
        topics=Topics.load(cfg.resolve(spec["topics"])) if spec.get("topics") else None,
    )  # fmt: skip


def _sparse(kind: Any, path: Path) -> dict[str, Any]:
    """A collection built with SPLADE opens with its sparse encoder (loaded in this process: a
    masked LM of a few MB to a few hundred, used once per query)."""
    from ..search import Collection

    if kind is not Collection:
        return {}
    source = Collection.recorded_source(path, sparse=True)
    if source is None:
        return {}
    from ..encoders.sparse import SpladeEncoder

    return {"sparse_encoder": SpladeEncoder(source)}


def _runners(cfg: ServerConfig, given: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """name -> (what encodes, its EncoderProcess or None). A neural model of the config gets a
    process of its own when ``cfg.isolate``; it is not loaded here at all."""
    from ..encoders import load_encoder
    from .worker import EncoderProcess

    out: dict[str, tuple[Any, Any]] = {name: (enc, None) for name, enc in given.items()}
    try:
        for name, source in cfg.models.items():
            if name in out:
                continue
            if source == "splade" or source.startswith("splade:"):
                from ..encoders.sparse import SpladeEncoder, default_splade

                path = source.partition(":")[2] or default_splade()
                out[name] = (SpladeEncoder(path), None)  # small, and sparse: in this process
            elif cfg.isolate and not _is_static(source) and not _takes_images(source):
                worker = EncoderProcess(source, call_timeout=cfg.limits.worker_timeout_s)
                out[name] = (worker, worker)
            else:
                out[name] = (load_encoder(source), None)
    except BaseException:  # a model that does not load: stop the processes already started
        for _, worker in out.values():
            if worker is not None:
                worker.close()
        raise
    return out


def _takes_images(source: str) -> bool:
    """A CLIP-family or ``train clip`` folder: it decodes and encodes images, which the worker's
    text protocol does not carry, so it runs in this process."""
    from ..encoders.clip import is_clip_folder

    folder = Path(source).expanduser()
    return folder.is_dir() and (is_clip_folder(folder) or (folder / "lit.json").exists())


def _is_static(source: str) -> bool:
    """A StaticEncoder folder (a lookup table: nothing to gain from a process of its own)."""
    return (Path(source).expanduser() / "static_encoder.json").exists()
