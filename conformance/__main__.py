"""``python -m conformance`` in a clone: the installed ``xpgrad-conformance`` command
(``src/xpgrad/conformance/__main__.py``), same options, reports and exit codes."""

from __future__ import annotations

import sys

from xpgrad.conformance.__main__ import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m conformance"))
