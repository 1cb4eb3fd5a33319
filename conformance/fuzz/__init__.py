"""A differential fuzzer: random array API programs on xpgrad against torch.autograd.

    python -m conformance.fuzz --backend numpy --programs 1000 --seed 0 --report out/

Each program (``_gen.generate``) is data, a list of statements over named variables
(``_program.Program``): elementwise ops, reductions, linear algebra, FFTs, basic, integer-array
and boolean-mask indexing, ``__setitem__`` and in-place operators on intermediates and on views,
changes of index arrays, masks and bases after use, several outputs and several leaves, in
float32/float64/complex64/complex128. The same statements run on xpgrad (the backend under test)
and on torch through ``array_api_compat.torch`` (``_run``); forward values, first-order
gradients, second-order gradients (``create_graph=True``) and raise/no-raise are compared. A
difference is triaged by central finite differences in float64 (``_triage.classify``), reduced by
delta debugging (``_triage.reduce``) and printed as a runnable script (``_script``). Known
differences are data (``_known.KNOWN``). See docs/fuzzing.md.
"""

from ._driver import Finding, FuzzRun, fuzz, program_seed
from ._gen import DTYPES, OPS, generate
from ._known import KNOWN, FuzzKnown, find_known
from ._program import Input, Program, Stmt
from ._run import Difference, compare
from ._triage import CLASSES, classify, reduce

__all__ = [
    "CLASSES",
    "DTYPES",
    "KNOWN",
    "OPS",
    "Difference",
    "Finding",
    "FuzzKnown",
    "FuzzRun",
    "Input",
    "Program",
    "Stmt",
    "classify",
    "compare",
    "find_known",
    "fuzz",
    "generate",
    "program_seed",
    "reduce",
]
