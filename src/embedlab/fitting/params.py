"""Declarative parameter checks for the estimators, in scikit-learn's style.

``check_params(owner, values, SPEC)`` raises ``ParameterError("The 'window' parameter of Word2Vec
must be an int in [1, inf). Got 0 instead.")``. Nothing here trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError


@dataclass(frozen=True)
class Interval:
    """A numeric range; ``kind`` is int or float; ``low``/``high`` None means unbounded."""

    kind: type
    low: float | None
    high: float | None
    closed_low: bool = True
    none_ok: bool = False

    def describe(self) -> str:
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "[" if self.closed_low and self.low is not None else "("
        right = ")" if self.high is None else "]"
        text = f"{'an int' if self.kind is int else 'a float'} in {left}{lo}, {hi}{right}"
        return text + (" or None" if self.none_ok else "")

    def ok(self, value: Any) -> bool:
        if value is None:
            return self.none_ok
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if self.kind is float and not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None and (
            value < self.low or (value == self.low and not self.closed_low)
        ):
            return False
        return self.high is None or value <= self.high


@dataclass(frozen=True)
class OneOf:
    values: tuple[Any, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def ok(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)


@dataclass(frozen=True)
class Either:
    options: tuple[Interval | OneOf, ...]

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)

    def ok(self, value: Any) -> bool:
        return any(o.ok(value) for o in self.options)


Constraint = Interval | OneOf | Either


def check_params(owner: str, values: dict[str, Any], spec: dict[str, Constraint]) -> None:
    for name, rule in spec.items():
        value = values[name]
        if not rule.ok(value):
            raise ParameterError(
                f"The {name!r} parameter of {owner} must be {rule.describe()}. Got {value!r} instead."
            )
