"""The ``fft`` extension (to be written)."""

import types


class FFTNamespace(types.ModuleType):
    def __init__(self, ns):
        super().__init__(f"{ns.__name__}.fft")
        self._ns = ns
