"""The ``linalg`` extension (to be written)."""

import types


class LinalgNamespace(types.ModuleType):
    def __init__(self, ns):
        super().__init__(f"{ns.__name__}.linalg")
        self._ns = ns
