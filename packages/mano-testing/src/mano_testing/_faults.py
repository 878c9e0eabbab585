"""Switchable faults: ``[endpoint:]kind[=value]`` rules, comma-separated.

Kinds (values in brackets, ``N`` defaults to 1, ``always`` means every matching request):

- ``5xx=N``: the next N matching requests answer 500 (Django's HTML page) before the first byte.
- ``reset=N``: the next N matching responses are cut by a TCP reset in the middle of the body.
- ``truncate=N``: the next N matching get-data responses end early with status 200, a properly
  terminated chunked body and no central directory.
- ``slow=SECONDS``: sleep before the first byte of every matching response.
- ``trickle=SECONDS``: every matching get-data response sends its body one byte every SECONDS
  after the headers (a server that never stalls long enough for a read timeout, never ends).
- ``downtime=N``: the next N requests answer 503 with the maintenance body. Without an
  endpoint it matches every endpoint (the downtime middleware runs first).
- ``content_type=N``: the next N matching responses carry a wrong ``Content-Type``.

``endpoint`` is a fragment of the request path (``get-data``, ``get-studies``, ``v2`` ...);
without one a rule matches get-data, except ``downtime`` which matches everything.
Example: ``"5xx=2,reset=1,get-studies:slow=0.5,downtime=1"``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from mano_testing._errors import FaultSpecError

__all__ = ["FAULT_KINDS", "Faults"]

FAULT_KINDS = ("5xx", "reset", "truncate", "slow", "downtime", "content_type", "trickle")


@dataclass(slots=True)
class _Rule:
    endpoint: str
    kind: str
    value: float  # remaining count (math.inf = always) or seconds for `slow`


class Faults:
    """A thread-safe set of fault rules that requests consume.

    Args:
        spec: A faults string (see the module docstring) or None for no faults.

    Raises:
        FaultSpecError: The string is malformed; the message names the bad rule.
    """

    def __init__(self, spec: str | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = self._parse(spec) if spec else []
        self._spec = spec or ""

    @staticmethod
    def _parse(spec: str) -> list[_Rule]:
        rules: list[_Rule] = []
        for raw in spec.split(","):
            item = raw.strip()
            if not item:
                continue
            endpoint = ""
            head, sep, value_text = item.partition("=")
            if ":" in head:
                endpoint, _, kind = head.rpartition(":")
                endpoint = endpoint.strip().strip("/")
            else:
                kind = head
            kind = kind.strip()
            if kind not in FAULT_KINDS:
                raise FaultSpecError(
                    f"unknown fault kind {kind!r} in {item!r}; use one of {', '.join(FAULT_KINDS)}"
                )
            if not endpoint and kind != "downtime":
                endpoint = "get-data"
            value_text = value_text.strip()
            if kind in ("slow", "trickle"):
                if not sep or not value_text:
                    raise FaultSpecError(f"{item!r}: {kind} needs seconds, e.g. {kind}=0.5")
                try:
                    value = float(value_text)
                except ValueError:
                    raise FaultSpecError(
                        f"{item!r}: {value_text!r} is not a number of seconds"
                    ) from None
            elif not sep or not value_text:
                value = 1
            elif value_text.lower() in ("always", "inf"):
                value = math.inf
            else:
                try:
                    value = int(value_text)
                except ValueError:
                    raise FaultSpecError(
                        f"{item!r}: {value_text!r} is not a count; use an integer or 'always'"
                    ) from None
            if value < 0 or math.isnan(value):
                raise FaultSpecError(f"{item!r}: the value must not be negative")
            rules.append(_Rule(endpoint, kind, value))
        return rules

    def __repr__(self) -> str:
        return f"Faults({self._spec!r})"

    def __str__(self) -> str:
        return self._spec

    def __bool__(self) -> bool:
        with self._lock:
            return any(rule.value > 0 for rule in self._rules)

    def take(self, kind: str, path: str) -> bool:
        """Consume one occurrence of ``kind`` for a request to ``path``; True when it fires."""
        with self._lock:
            for rule in self._rules:
                if rule.kind == kind and rule.value > 0 and rule.endpoint in path:
                    rule.value -= 1
                    return True
        return False

    def delay(self, path: str) -> float:
        """Seconds to wait before the first byte of a response to ``path``."""
        with self._lock:
            return sum(
                rule.value for rule in self._rules if rule.kind == "slow" and rule.endpoint in path
            )

    def trickle(self, path: str) -> float:
        """Seconds between body bytes of a response to ``path`` (0: send normally)."""
        with self._lock:
            return max(
                (r.value for r in self._rules if r.kind == "trickle" and r.endpoint in path),
                default=0.0,
            )

    def remaining(self) -> dict[str, float]:
        """Unconsumed counts (and slow seconds) keyed ``endpoint:kind``."""
        with self._lock:
            return {f"{rule.endpoint}:{rule.kind}": rule.value for rule in self._rules}
