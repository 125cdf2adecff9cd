"""Request bodies of the HTTP API (pydantic); responses are plain dicts in OpenAI's shapes.

Everything a client may send is bounded here, so a bad request is a 422 before any work: strict
integers (``true`` and ``"8"`` are not 8), strings that are valid Unicode (no lone surrogates,
which SQLite and UTF-8 cannot store), metadata filters with at most 32 short alphanumeric keys and
values that fit SQLite (64-bit integers, finite floats).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict

__all__ = ["AskRequest", "EmbeddingRequest", "SearchRequest"]


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

    ``input`` items are checked by the route (a string each, not empty, not too long), so that
    the error names the item.
    """

    model_config = ConfigDict(extra="ignore")

    input: Text | list[Any]
    model: Name
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: Annotated[int, Strict(), Field(ge=1)] | None = None
    user: Annotated[str, Field(max_length=1024)] | None = None


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection: Name
    query: Annotated[Text, Field(min_length=1, max_length=32768)]
    k: Annotated[int, Strict(), Field(ge=1, le=1000)] = 10
    mode: Literal["dense", "sparse", "hybrid"] = "hybrid"
    where: Where | None = None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    faq: Name
    question: Annotated[Text, Field(min_length=1, max_length=32768)]
    k: Annotated[int, Strict(), Field(ge=1, le=50)] = 3
