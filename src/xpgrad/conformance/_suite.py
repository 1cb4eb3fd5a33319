"""What the pytest suites and ``xpgrad-conformance`` share: the backend under test, its known
differences, and the list of (case, check) items to run."""

from __future__ import annotations

import ast
import importlib
from fnmatch import fnmatchcase

from xpgrad.testing import CHECKS, FORWARD_CHECKS, Case, iter_cases, op_db
from xpgrad.testing._runner import FINITE_DIFFERENCES
from xpgrad.testing._runner import expected_failure as _expected_failure
from xpgrad.testing._runner import to_numpy as _read_back

from .known import load_known, load_known_tests

__all__ = [
    "BACKENDS",
    "checks_for",
    "expected_failure",
    "forward_checks_for",
    "forward_items",
    "forward_pytest_params",
    "items",
    "load_known",
    "load_known_tests",
    "load_object",
    "mark_report",
    "pytest_params",
    "record_reference",
    "report_teststatus",
    "resolve_backend",
]

# Short names documented for --backend; any importable array API module path works too.
BACKENDS = ("numpy", "torch", "array_api_strict", "jax", "dask", "cupy")


SPEC_FORMS = (
    "a module (numpy, my.array.library), module:attr (mypkg.ns:xp) or module:factory(args) "
    "(marray:masked_namespace(numpy)) whose arguments are module names or Python literals"
)


def _spec_error(spec: str, why: str) -> ValueError:
    return ValueError(f"cannot use {spec!r}: {why}; expected {SPEC_FORMS}")


def _dotted(node) -> str | None:
    """``a.b.c`` of a Name/Attribute chain, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _argument(spec: str, node):
    """A factory's argument: a module (named by a dotted name) or a literal; nothing is evaluated."""
    name = _dotted(node)
    if name is not None:
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            raise _spec_error(spec, f"argument {name!r} is not an importable module ({exc})") from None
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise _spec_error(
            spec, f"argument {ast.unparse(node)!r} is neither a module name nor a literal"
        ) from None


def _split_spec(spec: str) -> tuple[str, str]:
    """``spec``'s module name (checked) and what follows its colon."""
    if not isinstance(spec, str) or not spec.strip():
        raise _spec_error(str(spec), "it is empty")
    module_name, _, rest = spec.strip().partition(":")
    module_name, rest = module_name.strip(), rest.strip()
    if not module_name or any(not part.isidentifier() for part in module_name.split(".")):
        raise _spec_error(spec, f"{module_name!r} is not a module name")
    return module_name, rest


def load_object(spec: str):
    """The object that ``spec`` names: ``module``, ``module:attr.path`` or
    ``module:factory(arg, key=arg)``, each argument a module name or a Python literal. Parsed
    with ``ast``: the module is imported, the attributes looked up, the factory called; no other
    code is evaluated. Raises ValueError (naming ``spec`` and the forms) or ImportError."""
    module_name, rest = _split_spec(spec)
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise _spec_error(spec, f"module {module_name!r} could not be imported ({exc})") from None
    if not rest:
        return obj
    try:
        node = ast.parse(rest, mode="eval").body
    except SyntaxError:
        raise _spec_error(spec, f"{rest!r} is not an attribute or a call") from None
    call = node if isinstance(node, ast.Call) else None
    path = _dotted(call.func if call is not None else node)
    if path is None:
        raise _spec_error(spec, f"{rest!r} is not an attribute or a call")
    for attr in path.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise _spec_error(spec, f"{module_name} has no attribute {path!r}") from None
    if call is None:
        return obj
    if not callable(obj):
        raise _spec_error(spec, f"{module_name}:{path} is not callable")
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise _spec_error(spec, "*args and **kwargs are not supported")
    args = [_argument(spec, a) for a in call.args]
    kwargs = {k.arg: _argument(spec, k.value) for k in call.keywords}
    try:
        return obj(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the author's factory: any failure is a bad spec
        raise _spec_error(spec, f"calling {module_name}:{path} raised {type(exc).__name__}: {exc}") from None


_RESOLVED: dict = {}  # --backend spec -> its xpgrad namespace


def resolve_backend(name, to_numpy=None):
    """The xpgrad namespace over backend ``name`` (raises ValueError, TypeError or ImportError).

    ``name``: a module name, ``module:attr`` or ``module:factory(args)`` (see
    :func:`load_object`), or a namespace object. ``to_numpy``: a function making a NumPy array
    of one of the backend's arrays, or its ``module:function`` name; stored on the backend
    (``Backend.to_numpy``) for the harness. The backend's values must be readable: a backend
    whose arrays cannot be turned into NumPy is refused here, once, naming the remedy.
    """
    import xpgrad  # the package, for xpgrad.namespace (this module is a part of it)

    if isinstance(name, str):
        if _split_spec(name)[0] in ("jax", "jax.numpy"):  # float64, complex128 checked too
            importlib.import_module("jax").config.update("jax_enable_x64", True)
        key = name.strip()
        ns = _RESOLVED.get(key)
        if ns is None:
            # A plain module name goes to xpgrad.namespace as is (short names: dask is dask.array).
            ns = xpgrad.namespace(load_object(key) if ":" in key else key)
            # Once per spec: a factory may make a new namespace (new array types) on each call,
            # and every part of a run (options, fixtures, known differences) must share one.
            _RESOLVED[key] = ns
    else:
        ns = xpgrad.namespace(name)
    if to_numpy is not None:
        converter = load_object(to_numpy) if isinstance(to_numpy, str) else to_numpy
        if not callable(converter):
            raise TypeError(f"to_numpy: {to_numpy!r} is not a function")
        ns.backend.to_numpy = converter
    values = _read_back(ns.backend.xp.asarray([1.0, 2.0]))
    if values.shape != (2,) or values.tolist() != [1.0, 2.0]:
        raise ValueError(
            f"reading values back from {ns.backend.name} gave {values!r} for [1.0, 2.0]: pass a "
            "converter (to_numpy=...)"
        )
    return ns


def checks_for(op) -> tuple[str, ...]:
    """The checks that apply to ``op``: forward only for a non-differentiable function."""
    if not op.differentiable:
        return ("forward",)
    return CHECKS if op.second_order else CHECKS[:2]


def forward_checks_for(op) -> tuple[str, ...]:
    """The forward-mode checks that apply to ``op``: none for a non-differentiable function;
    forward-over-reverse where second order is checked."""
    if not op.differentiable:
        return ()
    return FORWARD_CHECKS if op.second_order else FORWARD_CHECKS[:1]


def expected_failure(case: Case, check: str, backend: str, known=()) -> str | None:
    """The reason ``check`` of ``case`` is expected to fail on ``backend`` (the backend's known
    differences, then the OpInfo's and sample's xfail, each for this check kind only)."""
    return _expected_failure(case.op, case.sample, case.sample_name, check, case.dtype, backend, known)


def items(only=None, dtypes=None, checks=None) -> list[tuple[Case, str]]:
    """Every (case, check) to run. ``only``: function names or ``fnmatch`` patterns
    ("linalg.*"); ``dtypes`` and ``checks`` restrict those."""
    ops = op_db()
    if only:
        ops = [op for op in ops if any(fnmatchcase(op.name, pat) for pat in only)]
    out = []
    for case in iter_cases(ops, dtypes=dtypes):
        for check in checks_for(case.op):
            if checks is None or check in checks:
                out.append((case, check))
    return out


def forward_items(only=None, dtypes=None, checks=None) -> list[tuple[Case, str]]:
    """Every (case, forward-mode check) to run (issue 14), selected as :func:`items`."""
    ops = op_db()
    if only:
        ops = [op for op in ops if any(fnmatchcase(op.name, pat) for pat in only)]
    out = []
    for case in iter_cases(ops, dtypes=dtypes):
        for check in forward_checks_for(case.op):
            if checks is None or check in checks:
                out.append((case, check))
    return out


def _params(todo, backend_name: str, known) -> list:
    import pytest

    backend = resolve_backend(backend_name).backend.name
    params = []
    for case, check in todo:
        reason = expected_failure(case, check, backend, known)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason is not None else []
        params.append(pytest.param(case, check, id=f"{case.id}-{check}", marks=marks))
    return params


def forward_pytest_params(backend_name: str, known=()) -> list:
    """One ``pytest.param(case, check)`` per forward-mode item, ids ``<op>-<dtype>-<sample>-<check>``;
    an expected failure (an entry for this very check: ``jvp`` or ``fwd_rev``) is a strict xfail
    with its reason."""
    return _params(forward_items(), backend_name, known)


def pytest_params(backend_name: str, known=()) -> list:
    """One ``pytest.param(case, check)`` per conformance item, ids ``<op>-<dtype>-<sample>-<check>``;
    an expected failure is a strict xfail with its reason. Shared by the installed plugin's suite
    and the clone's ``conformance/``."""
    return _params(items(), backend_name, known)


# The pytest outcome of a check compared with finite differences: a passing test, counted apart
# ("N checked against finite differences" in the summary line, "FD-CHECKED" with -v).
FD_CATEGORY = "checked against finite differences"
_KEY: list = []  # the pytest StashKey (pytest is imported on use)


def _reference_key():
    if not _KEY:
        import pytest

        _KEY.append(pytest.StashKey[str]())
    return _KEY[0]


def record_reference(request, result) -> None:
    """Record on the test item what the check of ``result`` was compared with (``request`` is
    pytest's fixture): :func:`report_teststatus` shows a pass against finite differences as its
    own outcome."""
    request.node.stash[_reference_key()] = result.reference


def mark_report(item, report) -> None:
    """In ``pytest_runtest_makereport``: copy the recorded reference to the report (an attribute,
    so that pytest-xdist carries it to the controller)."""
    reference = item.stash.get(_reference_key(), None)
    if reference is not None and report.when == "call":
        report.xpgrad_reference = reference


def report_teststatus(report):
    """``pytest_report_teststatus`` of the conformance suites: a passing check whose reference is
    finite differences (torch has none) is its own outcome."""
    if report.when == "call" and report.passed and not hasattr(report, "wasxfail"):
        if getattr(report, "xpgrad_reference", None) == FINITE_DIFFERENCES:
            return FD_CATEGORY, "d", "FD-CHECKED"
    return None
