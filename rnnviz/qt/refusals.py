"""Why the settings a form shows are refused, reason by reason, each with the settings it
is about (the side bar shows a reason beside one of them)."""

from __future__ import annotations

from typing import Any

from rnnviz.core.config import Config, ConfigError


def refusals(values: dict[str, Any], base: Config) -> list[tuple[str, tuple[str, ...]]]:
    """Why `base.replace(**values)` is refused, reason by reason (as validation words them),
    each with the settings it is about: those whose default would lift it. A value out of
    range names its own field; a task and a length that do not go together name both.
    Empty when the values are usable."""
    default = Config()
    values = dict(values)
    found = []
    while (reason := _reason(base, values)) is not None:
        about = tuple(
            name
            for name, value in values.items()
            if value != getattr(default, name)  # (NaN differs from every default)
            and _reason(base, {**values, name: getattr(default, name)}) != reason
        )
        found.append((reason, about))
        if not about:
            break
        values.update({name: getattr(default, name) for name in about})  # the next reason
    return found


def _reason(base: Config, values: dict[str, Any]) -> str | None:
    try:
        base.replace(**values)
    except ConfigError as e:
        return str(e)
    return None
