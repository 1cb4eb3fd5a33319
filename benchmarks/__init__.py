"""xpgrad benchmarks against the peers: ``python -m benchmarks [--quick] [--only W1,W3] [--json PATH]``.

Importing this package pins BLAS/OpenMP thread pools to one thread. It must happen before NumPy
or torch is imported in the process, which is why it is done here, in the package's
``__init__``, and why the runner imports this package before anything else.
"""

import os
import sys

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

for _var in THREAD_VARS:
    os.environ[_var] = "1"

#: True when NumPy was imported before the thread variables were set (threadpoolctl still applies).
NUMPY_IMPORTED_EARLY = "numpy" in sys.modules
