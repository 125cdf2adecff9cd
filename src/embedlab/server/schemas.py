"""Request bodies of the HTTP API (pydantic); responses are plain dicts in OpenAI's shapes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AskRequest", "EmbeddingRequest", "SearchRequest"]


class EmbeddingRequest(BaseModel):
    """OpenAI's ``POST /v1/embeddings`` body (``user`` accepted and ignored)."""

    model_config = ConfigDict(extra="ignore")

    input: str | list[Any]
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection: str
    query: str = Field(min_length=1, max_length=32768)
    k: int = Field(10, ge=1, le=1000)
    mode: Literal["dense", "sparse", "hybrid"] = "hybrid"
    where: dict[str, str | int | float | bool] | None = None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    faq: str
    question: str = Field(min_length=1, max_length=32768)
    k: int = Field(3, ge=1, le=50)
