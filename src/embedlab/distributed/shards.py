"""The plan of a batch-embedding job and its output shards; no Ray here.

A job turns record files into Parquet shards, one per slice of ``shard_rows`` records of one input
file, named ``part-00000.parquet`` ... in input order. The plan is fixed before anything is embedded
and written first, to ``OUT/_embedlab_job.json``: the inputs (path, size, modification time,
record count), the encoder and its settings, and each shard's input and record range. A rerun
reads the plan back, checks that the inputs and settings are the same ones, and embeds only the
shards that are not on disk and verified. That is what makes a job resumable after its driver is
killed: every shard is written atomically (temp file, fsync, rename) by the driver alone, so a shard
file either holds all of its rows or does not exist.

Ids are the records' own (an ``id`` field or column) or, as ``embedlab embed`` numbers them, line /
row numbers; when a job reads several files, numbered ids get the file's path (relative to the
inputs' common folder) in front, ``docs/b.csv:4``, so every id of a job is unique and a collection
can be built from it.

Verifying a shard reads its footer only: the row count must match the plan, and the job key and
range stored in the file's metadata must match this job's (a shard from another job, or another
encoder, in the same folder is embedded again, not trusted). Each shard holds ``id``, ``text_sha1``
(the SHA-1 of the text's UTF-8, for joins and deduplication downstream) and ``embedding`` (a
fixed-size float32 list; sparse jobs: ``terms`` and ``weights``), the layout ``embedlab embed``
writes for one ``.parquet`` file, so ``index build`` and anyone's Parquet reader take either.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import FormatError, ParameterError
from ..files import atomic_file, compression_of
from ..optional import require
from ..records import count_records, iter_records
from ..remote import FilePath, RemoteFile, locate

__all__ = ["JOB_FILE", "Shard", "ShardPlan", "list_inputs", "read_shard", "text_sha1"]

JOB_FILE = "_embedlab_job.json"
_KINDS = (".txt", ".jsonl", ".json", ".csv", ".tsv", ".parquet")
_META_KEY = b"embedlab.shard"


def _stamp(path: FilePath) -> dict[str, Any]:
    """What tells that an input changed: its size and mtime, or a remote file's version."""
    if isinstance(path, RemoteFile):
        return {"size": path.size(), "version": path.version()}
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _common_folder(names: list[str]) -> str:
    """The folder all ``names`` (paths or URLs, ``/``-separated) lie in; "" when none."""
    if not names:
        return ""
    folders = [n.split("/")[:-1] for n in names]
    common = folders[0]
    for parts in folders[1:]:
        same = 0
        while same < min(len(common), len(parts)) and common[same] == parts[same]:
            same += 1
        common = common[:same]
    return "/".join(common)


def text_sha1(text: str) -> str:
    """The hex SHA-1 of ``text``'s UTF-8 bytes (the ``text_sha1`` column)."""
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _record_file(path: FilePath) -> bool:
    name = path.name.lower()
    if compression_of(path) is not None:
        name = name.rsplit(".", 1)[0]
    return name.endswith(_KINDS) and not path.name.startswith((".", "_"))


def list_inputs(paths: Sequence[str | os.PathLike[str]]) -> list[FilePath]:
    """The record files of ``paths``: files as given, folders walked (sorted, hidden and ``_``
    files skipped) for ``.txt`` / ``.jsonl`` / ``.csv`` / ``.tsv`` / ``.parquet`` (``.gz`` ok).
    A URL (``s3://bucket/docs/``) names a remote file or folder, read through fsspec."""
    files: list[FilePath] = []
    for raw in paths:
        p = locate(raw)
        if isinstance(p, Path):
            p = p.resolve()  # actors may run elsewhere: the plan names files absolutely
        if p.is_dir():
            listed: list[FilePath] = []
            if isinstance(p, RemoteFile):
                listed.extend(p.files())
            else:
                listed.extend(sorted(f for f in p.rglob("*") if f.is_file()))
            found = [f for f in listed if _record_file(f)]
            if not found:
                raise ParameterError(
                    f"{p} holds no record files (.txt, .jsonl, .csv, .tsv, .parquet, .gz ok)"
                )
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    if len(set(files)) != len(files):
        raise ParameterError("an input file is named twice (directly or inside a folder)")
    return files


@dataclass(frozen=True)
class Shard:
    """One unit of work: records ``[start, stop)`` of input ``path``, written to ``name``; ids
    made from line / row numbers get ``id_prefix`` (the file's name when a job has several)."""

    name: str
    path: str
    start: int
    stop: int
    id_prefix: str = ""

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass
class ShardPlan:
    """The whole job: ``inputs`` (path, size, mtime_ns, records), ``settings`` (encoder, fields,
    shard size; what makes two runs the same job) and its ``shards``."""

    inputs: list[dict[str, Any]]
    settings: dict[str, Any]
    shards: list[Shard]

    @property
    def key(self) -> str:
        """A short hash of the inputs and settings, stored in every shard this job writes."""
        blob = json.dumps({"inputs": self.inputs, "settings": self.settings}, sort_keys=True)
        return hashlib.sha1(blob.encode(), usedforsecurity=False).hexdigest()[:16]

    @property
    def total_rows(self) -> int:
        return sum(s.rows for s in self.shards)

    @classmethod
    def make(
        cls, files: Sequence[FilePath], settings: dict[str, Any], *, shard_rows: int, field: str
    ) -> ShardPlan:
        """Count each file's records (a parquet footer, or one streaming pass) and cut shards."""
        if shard_rows < 1:
            raise ParameterError(f"shard_rows must be >= 1, got {shard_rows}")
        inputs: list[dict[str, Any]] = []
        shards: list[Shard] = []
        root = _common_folder([str(f) for f in files])
        for path in files:
            prefix = f"{str(path)[len(root) :].lstrip('/')}:" if len(files) > 1 else ""
            n = count_records(path, field=field)
            inputs.append({"path": str(path), **_stamp(path), "records": n})
            for start in range(0, n, shard_rows):
                name = f"part-{len(shards):05d}.parquet"
                shards.append(Shard(name, str(path), start, min(start + shard_rows, n), prefix))
        return cls(inputs, {**settings, "shard_rows": shard_rows}, shards)

    def save(self, out: Path) -> None:
        body = {
            "format": "embedlab batch-embedding job",
            "version": 1,
            "key": self.key,
            "inputs": self.inputs,
            "settings": self.settings,
            "shards": [asdict(s) for s in self.shards],
        }
        with atomic_file(out / JOB_FILE) as f:
            f.write(json.dumps(body, indent=1).encode())

    @classmethod
    def load(cls, out: Path) -> ShardPlan | None:
        """The plan saved in ``out``, or None when there is none."""
        path = out / JOB_FILE
        if not path.exists():
            return None
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            return cls(body["inputs"], body["settings"], [Shard(**s) for s in body["shards"]])
        except (ValueError, KeyError, TypeError) as e:
            raise FormatError(path, f"not an embedlab job plan ({e})") from e

    def same_job(self, files: Sequence[FilePath], settings: dict[str, Any]) -> str | None:
        """None when ``files`` and ``settings`` are this plan's (and unchanged on disk), else
        what differs, in words."""
        mine = {k: v for k, v in self.settings.items() if k != "shard_rows"}
        if mine != settings:
            changed = sorted(k for k in {*mine, *settings} if mine.get(k) != settings.get(k))
            return f"the settings differ ({', '.join(changed)})"
        if [i["path"] for i in self.inputs] != [str(f) for f in files]:
            return "the input files differ"
        for item in self.inputs:
            now = _stamp(locate(item["path"]))
            if any(item.get(k) != v for k, v in now.items()):
                return f"{item['path']} changed since the job began"
        return None

    def done(self, out: Path) -> set[str]:
        """Names of the shards on disk that hold exactly what the plan says."""
        pq = require("pyarrow.parquet", "parquet", "Parquet shards")
        key, found = self.key, set()
        for shard in self.shards:
            path = out / shard.name
            if not path.exists():
                continue
            try:
                meta = pq.read_metadata(path)
                stored = json.loads((meta.metadata or {}).get(_META_KEY, b"{}"))
            except (OSError, ValueError):
                continue  # a foreign or damaged file: embedded again and replaced
            if meta.num_rows == shard.rows and stored == {**asdict(shard), "job": key}:
                found.add(shard.name)
        return found


def read_shard(shard: Shard, *, field: str, id_field: str | None) -> tuple[list[str], list[str]]:
    """``(ids, texts)`` of the shard's records, streamed from its input file."""
    ids, texts, _ = shard_records(shard, field=field, id_field=id_field)
    return ids, texts


def shard_records(
    shard: Shard, *, field: str, id_field: str | None, meta_fields: list[str] | None = None
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """``(ids, texts, metadata)`` of the shard's records, streamed from its input file."""
    ids: list[str] = []
    texts: list[str] = []
    metas: list[dict[str, Any]] = []
    records = iter_records(
        shard.path,
        field=field,
        id_field=id_field,
        meta_fields=meta_fields,
        number_prefix=shard.id_prefix,
        skip=shard.start,
    )
    for key, text, meta in itertools.islice(records, shard.rows):
        ids.append(key)
        texts.append(text)
        metas.append(meta)
    if len(ids) != shard.rows:
        raise FormatError(
            shard.path,
            f"expected records {shard.start + 1}-{shard.stop}, found {len(ids)} of them: "
            "the file changed while the job ran",
        )
    return ids, texts, metas


def write_shard(out: Path, shard: Shard, table: Any, key: str) -> Path:
    """Write one shard's table atomically, its plan entry in the file's metadata."""
    pq = require("pyarrow.parquet", "parquet", "Parquet shards")
    stamp = json.dumps({**asdict(shard), "job": key}, sort_keys=True).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: stamp})
    path = out / shard.name
    with atomic_file(path) as f:
        pq.write_table(table, f)
    return path


def shard_tables(pieces: Iterable[Any], column: str = "shard") -> Iterator[tuple[str, Any]]:
    """Group an actor pool's output tables by shard name; a shard is yielded once all its pieces
    arrived (pieces carry ``rows_expected``), with the bookkeeping columns dropped."""
    pa = require("pyarrow", "parquet", "Parquet shards")
    waiting: dict[str, list[Any]] = {}
    for table in pieces:
        names = table.column(column).to_pylist()
        for name in dict.fromkeys(names):
            mask = pa.array([n == name for n in names])
            part = table.filter(mask)
            waiting.setdefault(name, []).append(part)
            got = sum(p.num_rows for p in waiting[name])
            if got >= part.column("rows_expected")[0].as_py():
                whole = pa.concat_tables(waiting.pop(name))
                yield name, whole
