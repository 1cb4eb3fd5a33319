"""The architecture rules of src/xpgrad, checked on its source (CONTRIBUTING.md, "Architecture rules").

1. The imports between xpgrad's modules form no circle, function-level imports included: every
   module can be read (and imported) after the modules it depends on. What a lower layer needs
   from an upper one is attached by the upper one when it is imported (``_tensor.UPPER``,
   ``_forward.UPPER``; CONTRIBUTING.md, "Layers").
2. A function-level import of an xpgrad module says why, in a comment on its line or the line
   before (the usual reason: the imported module is costly and needed on call only).
3. No function or method is longer than ``MAX_FUNCTION_LINES`` lines (nested functions count
   towards the function that contains them).
4. No type test by class name (``type(t).__name__ == "Tensor"``).
5. Backend policy lives in ``_backends.py`` and its rooms (``_profile.py``, ``_dask.py``,
   ``_special_libs.py``, ``_overlay.py``) only: elsewhere no backend's name is tested (as a
   string constant, an ``is_<backend>...`` / ``_is_<backend>`` capability name) and no backend
   module is imported. ``conformance/`` and ``testing/`` compare backends on purpose and are not
   checked; every other exception is in ``BACKEND_NAME_ALLOWED`` with its reason.
6. Each module belongs to one layer of ``LAYERS`` and imports only modules of its own layer or
   of lower ones; recording and the engine are two layers of one rank (siblings above the graph
   data: neither imports the other).
7. The two mode-state objects have one name each, everywhere: ``GRAD_MODE`` (``_grad_mode``) and
   ``FORWARD_MODE`` (``_forward``); no module binds them to another name.
8. The layers below ``_namespace.py`` use on a namespace (``ns``, ``t._ns``, ``self._root``) no
   private name but those declared in ``_namespace_interface.NamespaceInterface``, and a
   namespace has every one.

The checks read the source with ``ast`` (only the last imports xpgrad, to ask a namespace), so a
failure lists every offender.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "xpgrad"
PACKAGE = "xpgrad"
MAX_FUNCTION_LINES = 120

BACKENDS = ("numpy", "torch", "jax", "dask", "cupy", "array_api_strict")
# A string that names a backend module or one of its attributes: "torch", "jax.numpy",
# "dask.array", "torch.uint16", ... (not a message that mentions one: "as torch.special's").
_BACKEND_STRING = re.compile(rf"^({'|'.join(BACKENDS)})(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# A name that tests for a backend: is_numpy_namespace, is_torch_array, _is_torch, ...
_BACKEND_TEST_NAME = re.compile(rf"(^|_)is_({'|'.join(BACKENDS)})(_|$)")
# Directories that compare backends by design (test registries, known differences per backend).
_BACKEND_CHECK_EXEMPT_DIRS = ("conformance", "testing")

# (module, what) -> why it is legitimate. ``what`` is the offending text as reported.
BACKEND_NAME_ALLOWED: dict[tuple[str, str], str] = {
    ("xpgrad._backends", "*"): "the one module that holds backend policy",
    ("xpgrad._profile", "*"): "backend policy: what a backend is (read-back, mutable, lazy, chunked)",
    ("xpgrad._dask", "*"): "backend policy: the Dask overlay, split out of _backends",
    ("xpgrad._special_libs", "*"): "backend policy: each backend's special-function library",
    ("xpgrad._overlay", "*"): "backend policy: overlay namespaces (torch's, Dask's, chunked)",
    ("xpgrad._gradcheck", "import numpy"): (
        "finite differences are computed on host copies in float64 with NumPy, a required "
        "dependency, whatever the backend under test (not a backend branch)"
    ),
    ("xpgrad._tensor", "import numpy"): (
        "Tensor.__array__ is NumPy's conversion protocol: it returns a NumPy array whatever the backend"
    ),
    ("xpgrad.special", "import numpy"): (
        "SciPy's functions compute on NumPy blocks of chunked arrays: float32 blocks are computed in "
        "float64 and rounded quietly inside the block (a rule of the SciPy library, not a backend branch)"
    ),
    ("xpgrad._compile", "import numpy"): (
        "xpgrad.compile's recorder follows NumPy's own dispatch (__array_ufunc__, "
        "__array_function__) and records NumPy arrays only; other backends run eagerly"
    ),
    ("xpgrad._compile._trace", "import numpy"): "xpgrad.compile's recorder: a NumPy ndarray subclass",
    ("xpgrad._compile._replay", "import numpy"): "xpgrad.compile's replay of recorded NumPy calls",
    ("xpgrad.optim._optimizer", "import numpy"): (
        "state_dict() converts step counters to NumPy scalars as torch.optim keeps Python "
        "numbers; NumPy is a required dependency (not a backend branch)"
    ),
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = [PACKAGE, *rel.parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The xpgrad modules an import statement in ``module`` loads (none for other libraries)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
        return [_known(n) for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")]
    if node.level:
        base = module if _is_package(module) else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        target = f"{base}.{node.module}" if node.module else base
    elif node.module and (node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
        target = node.module
    else:
        return []
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        found.append(sub if sub in MODULES else _known(target))
    return found


def _known(name: str) -> str:
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module):
    """``(import node, at module level)`` for every import, skipping ``if TYPE_CHECKING:`` blocks
    (not run). Imports in a class body run at import time: module level."""

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.orelse:
                    yield from walk(ast.Module(body=[sub], type_ignores=[]), in_function)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, not in_function
            yield from walk(
                child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            )

    yield from walk(tree, False)


def _parse(path: Path) -> tuple[ast.Module, list[str]]:
    text = path.read_text(encoding="utf-8")
    return ast.parse(text, filename=str(path)), text.splitlines()


PARSED = {name: _parse(path) for name, path in MODULES.items()}


def _graph(trees: dict[str, ast.Module] | None = None) -> dict[str, set[str]]:
    """Module -> the xpgrad modules it imports, at module level or in a function: an import in a
    function closes a circle as surely at run time, and hides it from the reader."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, tree in (trees or {n: tree for n, (tree, _) in PARSED.items()}).items():
        for node, _top in _imports(tree):
            graph[name].update(t for t in _resolve(name, node) if t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _circle_in(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One concrete circle through the component's first module (breadth-first, shortest)."""
    start = component[0]
    members = set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & members):
            if child == start:
                return [*paths[node], start]
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    return component


def test_imports_form_no_circle():
    graph = _graph()
    circles = [" -> ".join(_circle_in(c, graph)) for c in _cycles(graph)]
    assert not circles, (
        "imports between xpgrad modules (function-level ones included) form circles:\n" + "\n".join(circles)
    )


# The layers, lowest first: (rank, name, modules or package prefixes). A module imports only from
# its own layer and from layers of a lower rank; two layers of one rank do not import each other.
# CONTRIBUTING.md, "Layers", draws the same picture.
LAYERS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        0,
        "policy and state",
        ("_backends", "_profile", "_dask", "_overlay", "_special_libs", "_grad_mode", "_namespace_interface"),
    ),
    (1, "graph data", ("_graph",)),
    (2, "Tensor", ("_tensor",)),
    (3, "modes and helpers", ("_forward", "_hooks", "_math")),
    (4, "recording", ("_ops", "_optable", "_fastpaths", "_function", "_checkpoint")),
    (4, "engine", ("_engine", "_autograd")),
    (
        5,
        "functions",
        (
            "_creation_functions",
            "_data_type_functions",
            "_elementwise_functions",
            "_indexing_functions",
            "_inplace",
            "_linear_algebra_functions",
            "_manipulation_functions",
            "_searching_functions",
            "_set_functions",
            "_sorting_functions",
            "_statistical_functions",
            "_utility_functions",
            "fft",
            "linalg",
            "special",
            "_special_table",
        ),
    ),
    (6, "namespace", ("_namespace",)),
    (
        7,
        "public",
        ("", "forward_ad", "functional", "_gradcheck", "optim", "testing", "conformance", "_compile", "func"),
    ),
)


def _layer_of(module: str) -> tuple[int, str] | None:
    rest = module[len(PACKAGE) + 1 :] if module != PACKAGE else ""
    for rank, name, members in LAYERS:
        for m in members:
            if rest == m or (m and rest.startswith(m + ".")):
                return rank, name
    return None


def test_every_module_has_a_layer():
    missing = sorted(m for m in MODULES if _layer_of(m) is None)
    assert not missing, f"modules in no layer of LAYERS (place them): {missing}"


def _layer_violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(graph.items()):
        own = _layer_of(module)
        for target in sorted(targets):
            other = _layer_of(target)
            if own is None or other is None or other[1] == own[1] or other[0] < own[0]:
                continue
            bad.append(f"{module} ({own[1]}) imports {target} ({other[1]})")
    return bad


def test_imports_go_downward_only():
    bad = _layer_violations(_graph())
    assert not bad, "imports of a layer above or beside (see LAYERS):\n" + "\n".join(bad)


def _comment_near(lines: list[str], lineno: int) -> bool:
    here = lines[lineno - 1]
    before = lines[lineno - 2].strip() if lineno >= 2 else ""
    return "#" in here or before.startswith("#")


def test_function_level_imports_of_xpgrad_modules_say_why():
    silent = []
    for name, (tree, lines) in PARSED.items():
        for node, top in _imports(tree):
            if not top and _resolve(name, node) and not _comment_near(lines, node.lineno):
                silent.append(
                    f"{MODULES[name].relative_to(SRC)}:{node.lineno}: {lines[node.lineno - 1].strip()}"
                )
    assert not silent, (
        "function-level imports of xpgrad modules without a comment (same or previous line) "
        "saying why:\n" + "\n".join(silent)
    )


def _functions(tree: ast.Module, prefix: str = ""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            qual = f"{prefix}{node.name}"
            yield qual, node
            yield from _functions(node, qual + ".")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        elif not isinstance(node, ast.Lambda):
            yield from _functions(node, prefix)


# Functions over the limit in modules that issue 10's other parts rewrite (the engine split,
# the one wrapper template): the test fails for any other long function, and for an entry here
# that is no longer too long (remove it then). The list is to become empty.
LONG_FUNCTIONS_BEING_SPLIT: dict[str, str] = {}


def _long_functions() -> dict[str, str]:
    long = {}
    for name, (tree, _) in PARSED.items():
        for qual, node in _functions(tree):
            n = node.end_lineno - node.lineno + 1
            if n > MAX_FUNCTION_LINES:
                rel = MODULES[name].relative_to(SRC).as_posix()
                long[f"{rel}::{qual}"] = f"{rel}:{node.lineno} {qual} ({n} lines)"
    return long


def test_no_function_is_longer_than_the_limit():
    long = _long_functions()
    new = sorted(text for key, text in long.items() if key not in LONG_FUNCTIONS_BEING_SPLIT)
    assert not new, f"functions longer than {MAX_FUNCTION_LINES} lines (split them):\n" + "\n".join(new)
    done = sorted(set(LONG_FUNCTIONS_BEING_SPLIT) - set(long))
    assert not done, f"split now: remove them from LONG_FUNCTIONS_BEING_SPLIT: {done}"


# Type tests by class name still to be replaced by a real type test (the engine split of issue
# 10 gives the engine a Tensor-free way to check what an unpack hook returned).
NAME_TYPE_TESTS_BEING_REMOVED: dict[str, str] = {}


def _name_type_tests(tree: ast.Module):
    """Lines comparing ``type(x).__name__`` (or ``x.__class__.__name__``) with a string: a type
    test that hides an import circle and breaks for subclasses."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        named = any(
            isinstance(n, ast.Attribute) and n.attr == "__name__" and _is_type_of(n.value) for n in sides
        )
        if named and any(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in sides):
            yield node.lineno


def _is_type_of(node: ast.expr) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type":
        return True
    return isinstance(node, ast.Attribute) and node.attr == "__class__"


def test_no_type_test_by_class_name():
    found = {}
    for name, (tree, _) in PARSED.items():
        rel = MODULES[name].relative_to(SRC).as_posix()
        lines = list(_name_type_tests(tree))
        if lines:
            found[rel] = lines
    new = {rel: lines for rel, lines in found.items() if rel not in NAME_TYPE_TESTS_BEING_REMOVED}
    assert not new, f"type tests by class name (import the class, or ask a capability): {new}"
    done = sorted(set(NAME_TYPE_TESTS_BEING_REMOVED) - set(found))
    assert not done, f"removed now: drop them from NAME_TYPE_TESTS_BEING_REMOVED: {done}"


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _backend_tests(tree: ast.Module):
    """``(line, what)`` for each place that names a backend as policy."""
    docs = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if _BACKEND_STRING.match(node.value):
                yield node.lineno, repr(node.value)
        elif isinstance(node, ast.Attribute) and _BACKEND_TEST_NAME.search(node.attr):
            yield node.lineno, "." + node.attr
        elif isinstance(node, ast.Name) and _BACKEND_TEST_NAME.search(node.id):
            yield node.lineno, node.id
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in BACKENDS:
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] in BACKENDS:
                yield node.lineno, f"import {node.module}"


def test_backend_names_are_tested_only_in_backends():
    leaks = []
    for name, (tree, _) in PARSED.items():
        rel = MODULES[name].relative_to(SRC)
        if rel.parts[0] in _BACKEND_CHECK_EXEMPT_DIRS or (name, "*") in BACKEND_NAME_ALLOWED:
            continue
        for line, what in _backend_tests(tree):
            if (name, what) not in BACKEND_NAME_ALLOWED:
                leaks.append(f"{rel}:{line}: {what}")
    assert not leaks, (
        "backend names tested outside _backends.py (make it a Backend capability, or add an "
        "entry with its reason to BACKEND_NAME_ALLOWED):\n" + "\n".join(leaks)
    )


def test_the_allow_list_has_no_stale_entries():
    present = {(name, "*") for name in MODULES}
    for name, (tree, _) in PARSED.items():
        present.update((name, what) for _, what in _backend_tests(tree))
    stale = sorted(set(BACKEND_NAME_ALLOWED) - present)
    assert not stale, f"BACKEND_NAME_ALLOWED entries that match nothing any more: {stale}"


def test_the_checks_see_what_they_should():
    """The checkers themselves, on small sources (a checker that finds nothing would pass)."""
    tree = ast.parse(
        "'''doc naming torch'''\n"
        "import numpy\n"
        "def f(b):\n"
        "    from ._ops import record\n"
        "    if b._is_torch or name == 'jax.numpy':\n"
        "        return 'torch.special has none' or 'as in torch'\n"
    )
    assert sorted(w for _, w in _backend_tests(tree)) == ["'jax.numpy'", "._is_torch", "import numpy"]
    imports = [(n.lineno, top) for n, top in _imports(tree)]
    assert imports == [(2, True), (4, False)]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    circle = _graph(
        {
            "xpgrad._tensor": ast.parse("def f():\n    from ._namespace import namespace\n"),
            "xpgrad._namespace": ast.parse("from ._tensor import Tensor\n"),
        }
    )
    assert _cycles(circle) == [["xpgrad._namespace", "xpgrad._tensor"]]
    assert _layer_violations(circle) == ["xpgrad._tensor (Tensor) imports xpgrad._namespace (namespace)"]
    assert _layer_violations({"xpgrad._ops": {"xpgrad._engine"}, "xpgrad._engine": {"xpgrad._graph"}}) == [
        "xpgrad._ops (recording) imports xpgrad._engine (engine)"
    ]
    assert _layer_of("xpgrad") == (7, "public") and _layer_of("xpgrad.optim._sgd") == (7, "public")
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert _resolve("xpgrad._tensor", ast.parse("from . import fft").body[0]) == ["xpgrad.fft"]
    assert _resolve("xpgrad.optim._sgd", ast.parse("from .._tensor import Tensor").body[0]) == [
        "xpgrad._tensor"
    ]
    assert _resolve("xpgrad.optim", ast.parse("from ._sgd import SGD").body[0]) == ["xpgrad.optim._sgd"]
    assert list(_name_type_tests(ast.parse("if type(t).__name__ != 'Tensor': pass\nx.__name__ == 'a'"))) == [
        1
    ]
    assert [q for q, _ in _functions(ast.parse("class A:\n def m(self):\n  def inner(): pass\n"))] == [
        "A.m",
        "A.m.inner",
    ]


# Names that hold a namespace in the modules below _namespace.py: ``ns``, ``root``, and the
# attributes ``t._ns`` and ``self._root``.
_NAMESPACE_NAMES = ("ns", "root")
_NAMESPACE_ATTRS = ("_ns", "_root")
# Packages whose ``ns`` is a namespace class of their own (xpgrad.func's BatchNamespace), whose
# private names are its own business.
_OWN_NAMESPACE_PACKAGES = ("xpgrad.func",)


def _private_namespace_uses(tree: ast.Module):
    """``(line, name)`` for each private name read on a namespace (``ns._ensure``)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        v = node.value
        if (isinstance(v, ast.Name) and v.id in _NAMESPACE_NAMES) or (
            isinstance(v, ast.Attribute) and v.attr in _NAMESPACE_ATTRS
        ):
            yield node.lineno, node.attr


def _declared_namespace_interface() -> set[str]:
    tree, _ = PARSED["xpgrad._namespace_interface"]
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "NamespaceInterface"]
    names = set()
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return names


def test_lower_layers_use_only_the_declared_namespace_interface():
    declared = _declared_namespace_interface()
    undeclared = []
    for name, (tree, _) in PARSED.items():
        if name == "xpgrad._namespace" or name.startswith(_OWN_NAMESPACE_PACKAGES):
            continue
        rel = MODULES[name].relative_to(SRC).as_posix()
        undeclared += [
            f"{rel}:{line}: {attr}" for line, attr in _private_namespace_uses(tree) if attr not in declared
        ]
    assert not undeclared, (
        "private names used on a namespace that _namespace_interface.NamespaceInterface does not "
        "declare (declare them there, or use the public interface):\n" + "\n".join(undeclared)
    )


def test_a_namespace_has_the_declared_interface():
    import xpgrad
    from xpgrad._namespace_interface import NAMESPACE_INTERFACE

    assert NAMESPACE_INTERFACE == _declared_namespace_interface()
    ns = xpgrad.namespace("numpy")
    assert not [n for n in sorted(NAMESPACE_INTERFACE) if not hasattr(ns, n)]
    assert not hasattr(ns, "_backend")  # one name for the backend: ns.backend


def test_the_namespace_interface_check_sees_private_uses():
    tree = ast.parse("def f(t, ns):\n    ns._ensure(t._ns._xp)\n    x._private\n")
    assert sorted(a for _, a in _private_namespace_uses(tree)) == ["_ensure", "_xp"]


MODE_STATES = ("GRAD_MODE", "FORWARD_MODE")


def _mode_state_aliases(tree: ast.Module):
    """``(line, text)`` for each other name a module binds to a mode-state object (imports
    anywhere, module-level assignments; a function's local for speed is no name of the module)."""
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in MODE_STATES and alias.asname not in (None, alias.name):
                    yield node.lineno, f"{alias.name} as {alias.asname}"
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and id(node) in top:
            v = node.value
            name = v.attr if isinstance(v, ast.Attribute) else v.id if isinstance(v, ast.Name) else None
            if name in MODE_STATES:
                yield node.lineno, f"= {name}"


def test_mode_states_have_one_name():
    found = []
    for name, (tree, _) in PARSED.items():
        rel = MODULES[name].relative_to(SRC).as_posix()
        found += [f"{rel}:{line}: {what}" for line, what in _mode_state_aliases(tree)]
    assert not found, "a mode-state object under another name (use GRAD_MODE / FORWARD_MODE):\n" + "\n".join(
        found
    )


def test_the_mode_state_check_sees_aliases():
    tree = ast.parse("from ._grad_mode import GRAD_MODE as G\nS = _forward.FORWARD_MODE\nT = GRAD_MODE.x\n")
    assert [w for _, w in _mode_state_aliases(tree)] == ["GRAD_MODE as G", "= FORWARD_MODE"]
