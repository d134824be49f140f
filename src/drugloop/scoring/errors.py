"""Errors raised for malformed objectives, with messages meant for the person who wrote them."""

from __future__ import annotations

from pydantic import ValidationError


class ScoringConfigError(ValueError):
    """An objective is misconfigured: unknown name, bad parameter, invalid SMARTS, no model."""


def brief(exc: ValidationError) -> str:
    """Pydantic errors as one ``field: message`` list, without documentation links."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "value"
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
