"""The proof that `hookline dev` builds AWS-shaped events: Powertools' own parser models accept them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


def shape_problem(model: type[BaseModel], event: Any) -> str:
    """'' when `model` accepts the event, else pydantic's account of what does not fit."""
    try:
        model.model_validate(event)
    except ValidationError as e:
        return str(e)
    return ""
