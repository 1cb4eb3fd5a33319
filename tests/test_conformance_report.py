"""The conformance report as a backend author reads it (issue 20): failures grouped by cause
and function family, an absent extension or dtype said once, a short summary for CI whatever
the number of failures, a command rerunning one check, ids that ``pytest -k`` accepts."""

from __future__ import annotations

import re
import types

import pytest

import xpgrad
from xpgrad._profile import Profile
from xpgrad.conformance._report import SUMMARY_LIMIT, Report, cause_of, rerun_command
from xpgrad.testing import op_db
from xpgrad.testing._runner import CheckResult, iter_cases


def _ns(extensions=("linalg", "fft")):
    backend = types.SimpleNamespace(name="numpy", profile=Profile(True, False, False, frozenset(extensions)))
    return types.SimpleNamespace(backend=backend, _xp=xpgrad.numpy._xp)


def _fail(op, sample, message, dtype="float64", check="first", err=None):
    return CheckResult(op, sample, dtype, check, "numpy", "fail", max_abs_error=err, seed=1, message=message)


def test_one_cause_across_functions_samples_and_particulars_is_one_line():
    results = [
        _fail("sin", "1d", "TypeError: 'Array' object does not support item assignment (shape (3,))"),
        _fail("cos", "2d", "TypeError: 'Other' object does not support item assignment (shape (2, 4))"),
        _fail("sin", "2d", "ValueError: chunk 12 is irregular", dtype="float32"),
        _fail("exp", "1d", "values differ: max abs error 0.5", err=0.5),
        _fail("log", "1d", "values differ: max abs error 3e-3", err=3e-3),
    ]
    report = Report(results, _ns(), elapsed=1.0, args={"backend": "numpy"})
    rows = report.cause_lines()
    assert [(n, cause.split(":")[0]) for n, _, cause, *_ in rows] == [
        (2, "TypeError"),
        (2, "mismatch"),
        (1, "ValueError"),
    ]
    assert rows[0][4] == "sin, cos"  # the functions of the group
    assert cause_of(results[0]) == cause_of(results[1])


def test_an_absent_extension_is_one_line_not_one_per_check():
    results = [
        _fail(f"fft.{n}", "1d", "AttributeError: module has no attribute 'fft'")
        for n in ("fft", "ifft", "rfft")
    ]
    results.append(_fail("sin", "1d", "TypeError: boom"))
    report = Report(results, _ns(extensions=("linalg",)), elapsed=1.0, args={"backend": "numpy"})
    assert {e: len(rs) for e, rs in report.absent_extensions.items()} == {"fft": 3}
    assert [cause for _, _, cause, *_ in report.cause_lines()] == ["TypeError: boom"]
    summary = report.summary_markdown()
    assert summary.count("`fft`") == 1  # said once
    assert "Extension `fft` absent: 3 failed checks" in summary


def test_the_summary_stays_under_the_limit_with_many_distinct_causes():
    results = [
        _fail(f"op{i}", "1d", f"ValueError: cause {chr(65 + i % 26)}{chr(65 + i // 26 % 26)} {'x' * 300}")
        for i in range(5000)
    ]
    report = Report(results, _ns(), elapsed=1.0, args={"backend": "numpy"})
    text = report.summary_markdown()
    assert len(text.encode()) < SUMMARY_LIMIT
    assert "more causes: see report.md" in text


# What pytest's -k expression lexer takes as a name (_pytest/mark/expression.py).
_K_NAME = re.compile(r"^(:?\w|:|\+|-|\.|\[|\]|\\|/)+$")


def test_every_case_id_is_a_pytest_k_name():
    bad = [c.id for c in iter_cases(op_db()) if not _K_NAME.match(c.id)]
    assert not bad, bad[:10]


def test_the_rerun_command_selects_the_check_by_its_id():
    case = next(c for c in iter_cases(op_db()) if c.op.name == "tril" and "k=" in c.sample_name)
    r = _fail("tril", case.sample_name, "TypeError: x", dtype=case.dtype)
    cmd = rerun_command(r, "marray:masked_namespace(numpy)")
    assert f"-k {case.id}-first" in cmd
    assert "--xpgrad-backend='marray:masked_namespace(numpy)'" in cmd


@pytest.mark.parametrize("check, module", [("first", "test_gradients"), ("jvp", "test_forward")])
def test_the_rerun_command_names_the_test_module(check, module):
    assert f"xpgrad.conformance.{module} " in rerun_command(_fail("sin", "1d", "E: x", check=check), "numpy")
