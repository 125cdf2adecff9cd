"""Entities named by people: an id as the triples spell it, or a name from the entity text file.

KG datasets name entities by opaque ids (WordNet offsets ``08769179``, Freebase ``/m/0d05w3``);
their text files say what each is: ``id<TAB>name, description``. :func:`resolve` takes either: an
exact id, else the name before the first comma of an entity's text (case and spacing ignored,
``_`` read as a space), else the whole text. A name several entities share is refused with the
candidates listed, ids and texts, so the user can pick one. This module does not score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import ParameterError

__all__ = ["resolve"]


def _norm(text: str) -> str:
    return " ".join(text.replace("_", " ").lower().split())


def resolve(given: str, entities: Sequence[str], texts: Mapping[str, str]) -> str:
    """The entity id ``given`` stands for."""
    known = set(entities)
    if given in known:
        return given
    want = _norm(given)
    by_name = [e for e, t in texts.items() if e in known and _norm(t.split(",", 1)[0]) == want]
    found = by_name or [e for e, t in texts.items() if e in known and _norm(t) == want]
    if len(found) == 1:
        return found[0]
    if not found:
        where = (
            "entity ids or the names in the text file" if texts else "entity ids (or pass --text)"
        )
        raise ParameterError(f"no entity is named {given!r}: use {where}")
    shown = "; ".join(f"{e} ({texts[e][:60]})" for e in found[:6])
    more = f" and {len(found) - 6} more" if len(found) > 6 else ""
    raise ParameterError(f"{given!r} names {len(found)} entities: {shown}{more}; give the id")
