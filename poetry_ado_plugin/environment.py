"""Numbers read from environment variables: one parser, one policy.

Unset or blank means the default. Anything else must be a finite number in the variable's range
(a whole number where one is needed); otherwise the command stops with one UsageError line that
names the variable and the range, never a traceback and never a silent fallback."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from poetry_ado_plugin.errors import UsageError


# Poetry's own variable: seconds for connecting and for each read. Poetry reads it with int()
# when it starts, so through the `poetry` command only whole numbers get this far.
REQUESTS_TIMEOUT = "POETRY_REQUESTS_TIMEOUT"
# Seconds one request may take as a whole, its body included. Default: 3 x the read timeout.
REQUEST_DEADLINE = "POETRY_ADO_REQUEST_DEADLINE"
# Seconds a command waits in all for servers that answer 429/503 with Retry-After.
RETRY_AFTER_MAX = "POETRY_ADO_RETRY_AFTER_MAX"


def env_number(
    name: str,
    default: float,
    *,
    minimum: float = 0.0,
    maximum: float,
    integer: bool = False,
    exclusive_minimum: bool = False,
    environ: Mapping[str, str] | None = None,
) -> float:
    """The value of ``name``, or ``default`` when it is unset or blank."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(int(raw, 10)) if integer else float(raw)
    except ValueError:
        value = math.nan
    low_ok = value > minimum if exclusive_minimum else value >= minimum
    if not (math.isfinite(value) and low_ok and value <= maximum):
        kind = "a whole number" if integer else "a number of seconds"
        span = (
            f"greater than {minimum:g} and at most {maximum:g}"
            if exclusive_minimum
            else f"from {minimum:g} to {maximum:g}"
        )
        shown = raw if len(raw) <= 20 else raw[:20] + "…"
        raise UsageError(f"{name} must be {kind} {span}, not {shown!r}: fix or unset it")
    return value
