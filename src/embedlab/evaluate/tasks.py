"""Task specs as data, the registry of ready specs, and running one task on one embedding function.

A spec is a small JSON (or YAML) mapping::

    {"name": "my-sts", "type": "sts", "language": "en",
     "files": {"data": "pairs.csv"}, "columns": {"text1": "s1", "text2": "s2", "score": "gold"}}

``type`` is one of ``sts``, ``pairs``, ``classification``, ``clustering``, ``retrieval``,
``docsim``, ``word-similarity``, ``word-analogy``, ``image-text-retrieval`` (files ``data``: an
``image<TAB>caption`` table, ``images``: their folder, optional ``split`` with
``options.split``), ``zero-shot-images`` (``data``: ``image<TAB>label``, ``images``;
``options.templates``, ``options.labels``) and ``link-prediction`` (``folder``: a triples
dataset with train/dev/test.tsv, ``options.split``; a graph model's task, :mod:`.graph`);
``files`` are relative to the spec's folder (or
``data_dir`` for the built-in specs of ../shared/data); ``columns`` map each role to a header name
or a 0-based position; ``header``, ``delimiter``, ``encoding`` and ``options`` (``folds``,
``max_train``, ``max_items``, ``seed``, ``layout`` for retrieval) are optional. This module does
not cache or report (:mod:`embedlab.evaluate.runner` does).
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError, check_choice
from ..records import read_columns, read_mapping

logger = logging.getLogger(__name__)

__all__ = ["BUILTIN_TASKS", "TASK_TYPES", "TaskSpec", "load_task", "resolve_tasks"]

TASK_TYPES = (
    "sts",
    "pairs",
    "classification",
    "clustering",
    "retrieval",
    "docsim",
    "word-similarity",
    "word-analogy",
    "image-text-retrieval",
    "zero-shot-images",
    "link-prediction",
)
_ROLES = {
    "sts": ("text1", "text2", "score"),
    "pairs": ("text1", "text2", "label"),
    "classification": ("text", "label"),
    "clustering": ("text", "label"),
}
Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]


@dataclass
class TaskSpec:
    """One evaluation task: what kind, which files, which columns."""

    name: str
    type: str
    files: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str | int] = field(default_factory=dict)
    language: str = "en"
    header: bool | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"
    options: dict[str, Any] = field(default_factory=dict)
    base: Path = field(default_factory=Path)

    def __post_init__(self) -> None:
        check_choice("type", "TaskSpec", self.type, TASK_TYPES)
        need = _ROLES.get(self.type, ())
        missing = [r for r in need if r not in self.columns]
        if missing:
            raise ParameterError(
                f"task {self.name!r} ({self.type}) needs columns {list(need)}; missing {missing}"
            )

    def path(self, key: str) -> Path:
        if key not in self.files:
            raise ParameterError(
                f"task {self.name!r} has no file {key!r}; it has {sorted(self.files)}"
            )
        p = Path(self.files[key]).expanduser()
        return p if p.is_absolute() else self.base / p

    def read(
        self, key: str, roles: Sequence[str], numeric: Sequence[str] = ()
    ) -> dict[str, list[Any]]:
        """The ``roles`` columns of file ``key`` (``options["<key>_columns"]`` and
        ``options["<key>_header"]`` override the spec's columns and header for that file)."""
        columns = {**self.columns, **self.options.get(f"{key}_columns", {})}
        return read_columns(
            self.path(key),
            {r: columns[r] for r in roles},
            numeric=numeric,
            header=self.options.get(f"{key}_header", self.header),
            delimiter=self.delimiter,
            encoding=self.encoding,
        )


def load_task(path: str | os.PathLike[str]) -> TaskSpec:
    """A spec from a ``.json`` or ``.yaml``/``.yml`` file; its files resolve next to it."""
    p = Path(path)
    raw = read_mapping(p, "task spec")
    if "type" not in raw:
        raise FormatError(p, "a task spec is a mapping with at least 'type' and 'files'")
    raw.setdefault("name", p.stem)
    unknown = set(raw) - {f for f in TaskSpec.__dataclass_fields__ if f != "base"}
    if unknown:
        raise FormatError(p, f"unknown keys {sorted(unknown)} in the task spec")
    return TaskSpec(**raw, base=p.parent)


def _spec(name: str, type_: str, language: str = "en", **kw: Any) -> TaskSpec:
    return TaskSpec(name=name, type=type_, language=language, **kw)


#: Ready specs for the public sets under ../shared/data (paths relative to ``data_dir``): a table,
#: one set a row.
# fmt: off
BUILTIN_TASKS: dict[str, TaskSpec] = {t.name: t for t in [
    _spec("stsb-en", "sts", files={"data": "sts/stsb/stsb-en-test.csv"},
          columns={"text1": 0, "text2": 1, "score": 2}, header=False),
    _spec("sst2", "classification",
          files={"train": "sentiment/en/sst2/train.tsv", "test": "sentiment/en/sst2/test.tsv"},
          columns={"text": "sentence", "label": "label"}, options={"max_train": 8000}),
    _spec("movie-reviews", "classification", options={"folds": 5},
          files={"data": "sentiment/en/movie_reviews_polarity_v2.tsv"},
          columns={"text": "text", "label": "label"}),
    _spec("banking77", "classification", columns={"text": "text", "label": "label"},
          files={"train": "faq/banking77/banking77_train.csv", "test": "faq/banking77/test.csv"},
          options={"test_columns": {"text": 2, "label": 0}, "test_header": False}),
    _spec("banking77-clustering", "clustering", files={"data": "faq/banking77/test.csv"},
          columns={"text": 2, "label": 0}, header=False),
    _spec("stackfaq", "retrieval", files={"data": "faq/stackfaq/stackExchange-FAQ.xml"},
          options={"layout": "stackfaq"}),
    _spec("lee", "docsim", encoding="latin-1",
          files={"documents": "small/lee.cor", "matrix": "small/similarities0-1.txt"}),
    _spec("en-photos", "image-text-retrieval", options={"split": "test"},
          files={"data": "image_caption/en_photos/captions.tsv",
                 "images": "image_caption/en_photos/images",
                 "split": "image_caption/en_photos/split.tsv"},
          columns={"image": "image", "caption": "caption"}),
    _spec("vi-photos", "image-text-retrieval", "vi",
          files={"data": "image_caption/vi_photos_200/captions.tsv",
                 "images": "image_caption/vi_photos_200/images"},
          columns={"image": "image", "caption": "caption_vi"}),
    _spec("ws353", "word-similarity", files={"data": "ws353"}),
    _spec("simlex999", "word-similarity", files={"data": "simlex999"}),
    _spec("google-analogy", "word-analogy", files={"data": "google"}),
    _spec("stsb-zh", "sts", "zh", files={"data": "sts/stsb/stsb-zh-test.csv"},
          columns={"text1": 0, "text2": 1, "score": 2}, header=False),
    _spec("lcqmc", "pairs", "zh", files={"data": "sts/zh/lcqmc_test.tsv"},
          columns={"text1": 0, "text2": 1, "label": 2}, header=False),
    _spec("chnsenticorp", "classification", "zh", options={"folds": 5},
          files={"data": "sentiment/zh/ChnSentiCorp_htl_all.csv"},
          columns={"text": "review", "label": "label"}),
    _spec("wn18rr", "link-prediction", files={"folder": "kg/WN18RR"}, options={"split": "test"}),
]}
# fmt: on
ENGLISH = [  # the sentence and word tasks (a graph model's task is asked for by name)
    n for n, t in BUILTIN_TASKS.items() if t.language == "en" and t.type != "link-prediction"
]
CHINESE = [n for n, t in BUILTIN_TASKS.items() if t.language == "zh"]


def resolve_tasks(
    names: Sequence[str | TaskSpec], data_dir: str | os.PathLike[str] | None = None
) -> list[TaskSpec]:
    """Built-in names (``"all"``, ``"en"``, ``"zh"`` expand), spec files, or specs."""
    out: list[TaskSpec] = []
    for item in names:
        if isinstance(item, TaskSpec):
            out.append(item)
            continue
        if item in ("all", "en", "zh"):
            group = {"all": list(BUILTIN_TASKS), "en": ENGLISH, "zh": CHINESE}[item]
            out.extend(resolve_tasks(group, data_dir))
        elif item in BUILTIN_TASKS:
            if data_dir is None:
                raise ParameterError(f"the built-in task {item!r} needs data_dir (--data-dir)")
            spec = BUILTIN_TASKS[item]
            out.append(TaskSpec(**{**spec.__dict__, "base": Path(data_dir)}))
        elif Path(item).suffix.lower() in (".json", ".yaml", ".yml"):
            out.append(load_task(item))
        else:
            raise ParameterError(
                f"unknown task {item!r}: use a spec file (.json/.yaml) or one of "
                f"{', '.join(['all', 'en', 'zh', *BUILTIN_TASKS])}"
            )
    return out


def subsample(n: int, limit: int | None, seed: int) -> list[int]:
    """Row indices: all of them, or ``limit`` drawn without replacement in original order."""
    if limit is None or n <= limit:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), limit))
