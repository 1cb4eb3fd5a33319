"""Forward-mode AD state (placeholder until forward mode lands: no dual level is ever open)."""

from __future__ import annotations

import threading


class _State(threading.local):
    active = 0


STATE = _State()


def propagate(ns, name, rule, inputs, outs):  # pragma: no cover - no level is ever open yet
    raise NotImplementedError(f"forward-mode derivative of {name} is not implemented")
