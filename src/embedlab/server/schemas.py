"""Request bodies of the HTTP API (pydantic); responses are plain dicts in OpenAI's shapes.

Everything a client may send is bounded here, so a bad request is a 422 before any work: strict
integers (``true`` and ``"8"`` are not 8), strings that are valid Unicode (no lone surrogates,
which SQLite and UTF-8 cannot store), metadata filters with at most 32 short alphanumeric keys and
values that fit SQLite (64-bit integers, finite floats).
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "AskRequest",
    "EmbeddingRequest",
    "MonitorItems",
    "ProjectionRequest",
    "RecommendRequest",
    "SearchRequest",
    "SimilarityRequest",
]


def _unicode(value: str) -> str:
    """Refuse lone surrogates (JSON can spell them, UTF-8 cannot hold them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (found a lone surrogate)") from None
    return value


def _meta_value(value: Any) -> Any:
    """A filter value SQLite can compare: a short string, a 64-bit integer, a finite float, a bool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError("integers must fit in 64 bits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return value
    if isinstance(value, str):
        if len(value) > 1024:
            raise ValueError("strings must be at most 1024 characters")
        return _unicode(value)
    raise ValueError("must be a string, a number or a boolean")


Text = Annotated[str, AfterValidator(_unicode)]
Name = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_unicode)]
MetaKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,64}$")]
MetaValue = Annotated[str | bool | int | float, BeforeValidator(_meta_value)]
Where = Annotated[dict[MetaKey, MetaValue], Field(max_length=32)]


class EmbeddingRequest(BaseModel):
    """OpenAI's ``POST /v1/embeddings`` body (``user`` accepted and ignored).

    ``input`` is a string or a list of items, none empty: strings, or for a model that also
    encodes images (CLIP-family) ``{"type": "image", "data": "<base64 or data:image/...;base64,
    URL>"}`` (``{"type": "text", "text": ...}`` is a string too). Validated with the server's
    limits as context (``model_validate_json(body, context={"limits": limits})``: at most
    ``max_inputs`` items, texts of at most ``max_chars`` characters, images of at most
    ``max_image_bytes`` decoded bytes), each error naming the item.
    """

    model_config = ConfigDict(extra="ignore")

    input: Annotated[
        Text | list[Any],
        Field(
            description="A string or a list of strings and, for image models, image items "
            '{"type": "image", "data": base64 or a data URL} (token arrays are not supported).'
        ),
    ]
    model: Name
    encoding_format: Literal["float", "base64", "int8", "uint8", "binary", "ubinary"] = Field(
        "float",
        description=(
            "float or base64 (float32 bytes), as OpenAI; or quantized codes as lists of ints: "
            "int8 / uint8 (8-bit buckets of ranges calibrated once per model, returned in "
            "`quantization.ranges`), binary / ubinary (signs packed eight to a byte)."
        ),
    )
    dimensions: Annotated[int, Strict(), Field(ge=1)] | None = None
    user: Annotated[str, Field(max_length=1024)] | None = None

    @field_validator("input")
    @classmethod
    def _bounded(cls, value: str | list[Any], info: ValidationInfo) -> str | list[Any]:
        limits = (info.context or {}).get("limits")
        texts = [value] if isinstance(value, str) else value
        if not texts:
            raise _invalid("input must not be empty")
        if limits is not None and len(texts) > limits.max_inputs:
            raise _invalid(f"{len(texts)} inputs; at most {limits.max_inputs} per request")
        for i, text in enumerate(texts):
            if isinstance(text, dict):
                _item(text, i, limits)
                continue
            if not isinstance(text, str):
                raise _invalid(
                    f"input[{i}] is not a string or an image item (token arrays are not supported)"
                )
            if not text:
                raise _invalid(f"input[{i}] is empty")
            if limits is not None and len(text) > limits.max_chars:
                raise _invalid(f"input[{i}] has {len(text)} characters; at most {limits.max_chars}")
            _unicode(text)
        return value

    def texts(self) -> list[str]:
        """``input`` as a list of strings (validated); see :meth:`items` for image inputs."""
        return [t if isinstance(t, str) else "" for t in self.items()]

    def items(self) -> list[str | bytes]:
        """``input`` in order: texts as str, images as their (still encoded) file bytes."""
        if isinstance(self.input, str):
            return [self.input]
        out: list[str | bytes] = []
        for item in self.input:
            if isinstance(item, dict):
                out.append(item["text"] if item["type"] == "text" else _image_bytes(item["data"]))
            else:
                out.append(str(item))
        return out


def _image_bytes(data: str) -> bytes:
    """The file bytes of a base64 string or a ``data:<mime>;base64,`` URL (validated first)."""
    if data.startswith("data:"):
        data = data.partition(",")[2]
    return base64.b64decode(data, validate=True)


def _item(item: dict[str, Any], i: int, limits: Any, field: str = "input") -> None:
    kind = item.get("type")
    if kind == "text":
        text = item.get("text")
        if not isinstance(text, str) or not text or set(item) != {"type", "text"}:
            raise _invalid(
                f'{field}[{i}]: a text item is {{"type": "text", "text": "<non-empty>"}}'
            )
        if limits is not None and len(text) > limits.max_chars:
            raise _invalid(f"{field}[{i}] has {len(text)} characters; at most {limits.max_chars}")
        _unicode(text)
        return
    if kind != "image" or set(item) != {"type", "data"} or not isinstance(item["data"], str):
        raise _invalid(
            f'{field}[{i}]: an item is a string, {{"type": "image", "data": "<base64 or data URL>"}}'
            ' or {"type": "text", "text": "..."}'
        )
    data = item["data"]
    if data.startswith("data:"):
        head, comma, _ = data.partition(",")
        if not comma or not head.endswith(";base64") or not head[5:].startswith("image/"):
            raise _invalid(f"{field}[{i}]: a data URL must read data:image/<type>;base64,<data>")
    encoded = len(data.partition(",")[2]) if data.startswith("data:") else len(data)
    if limits is not None and encoded * 3 // 4 > limits.max_image_bytes:
        raise _invalid(
            f"{field}[{i}] is an image of about {encoded * 3 // 4:,} bytes; at most "
            f"{limits.max_image_bytes:,}"
        )
    try:
        _image_bytes(data)
    except (binascii.Error, ValueError):
        raise _invalid(f"{field}[{i}]: the image data is not valid base64") from None


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_input", message)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection: Name
    query: Annotated[Text, Field(min_length=1, max_length=32768)]
    k: Annotated[int, Strict(), Field(ge=1, le=1000)] = 10
    mode: Literal["dense", "sparse", "splade", "hybrid"] = Field(
        "hybrid",
        description="dense, sparse (BM25), splade (collections built with --sparse) or hybrid "
        "(every ranking the collection keeps, reciprocal-rank fused).",
    )
    where: Where | None = None


class SimilarityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Name
    texts: Annotated[
        list[Annotated[Text, Field(min_length=1, max_length=32768)]], Field(max_length=64)
    ] = Field([], description="Up to 64 texts; the answer is their cosine similarity matrix.")
    images: Annotated[list[str], Field(max_length=16)] = Field(
        [],
        description="Up to 16 images (base64 or data URLs) for a CLIP-family model; they come "
        "after the texts in the matrix.",
    )

    @field_validator("images")
    @classmethod
    def _decodable(cls, value: list[str]) -> list[str]:
        for i, data in enumerate(value):
            _item({"type": "image", "data": data}, i, None, "images")
        return value

    @model_validator(mode="after")
    def _some(self) -> SimilarityRequest:
        if not self.texts and not self.images:
            raise _invalid("give at least one text or image")
        return self

    def items(self) -> list[str | bytes]:
        """The texts, then the images' file bytes."""
        return [*self.texts, *(_image_bytes(d) for d in self.images)]


class ProjectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Name = Field(
        description="A vectors file under the config's 'vectors', or collection:NAME."
    )
    method: Literal["pca", "umap", "tsne"] = "pca"
    dims: Literal[2, 3] = 3
    limit: Annotated[int, Strict(), Field(ge=3, le=200_000)] = Field(
        100_000, description="Project the first rows only (the most frequent words)."
    )


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    faq: Name
    question: Annotated[Text, Field(min_length=1, max_length=32768)]
    k: Annotated[int, Strict(), Field(ge=1, le=50)] = 3


ItemId = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_unicode)]


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recommender: Name
    history: Annotated[list[ItemId], Field(max_length=10_000)] = Field(
        description="The user's item ids, oldest first (empty: the most popular items)."
    )
    k: Annotated[int, Strict(), Field(ge=1, le=1000)] = 10
    exclude_seen: bool = True
    explain: bool = Field(False, description="Add the history items behind each recommendation.")
    cold_slots: Annotated[int, Strict(), Field(ge=0, le=1000)] | None = Field(
        None, description="Places kept for items no one has seen yet (default: the model's)."
    )


class KGPredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    graph: Name
    head: Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_unicode)] | None = (
        Field(None, description="An entity id or name; leave out to predict heads.")
    )
    relation: Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_unicode)]
    tail: Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_unicode)] | None = (
        Field(None, description="An entity id or name; leave out to predict tails.")
    )
    k: Annotated[int, Strict(), Field(ge=1, le=1000)] = 10


class MonitorItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    time: Annotated[str, Field(max_length=64)] | float = Field(
        description="Unix seconds or an ISO date/datetime (UTC when no zone is given)."
    )
    text: Annotated[Text, Field(min_length=1, max_length=32768)]


class MonitorItems(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[MonitorItem], Field(min_length=1, max_length=2048)]
