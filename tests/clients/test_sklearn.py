"""scikit-learn with ``array_api_dispatch=True`` on xpgrad Tensors, compared with torch."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.decomposition as dec
import sklearn.discriminant_analysis as da
import sklearn.linear_model as lm
import sklearn.metrics as m
import sklearn.metrics.pairwise as pw
import sklearn.preprocessing as pre
from _harness import Call, normal, params, run, uniform


def two(f1, f2):
    return lambda rng: f1(rng) + f2(rng)


def pos(*shape):
    return uniform(0.2, 3.0, *shape)


def probs(n, k):
    def gen(rng):
        p = rng.uniform(0.1, 1.0, size=(n, k))
        return [p / p.sum(axis=1, keepdims=True)]

    return gen


def labels(n, k):
    return lambda rng: [rng.integers(0, k, size=n)]


_INPLACE = (
    "{}: scikit-learn modifies in place a value that the gradient needs (e.g. zeros of a norm "
    "replaced by 1 in place); torch.autograd raises on the same call, and so does xpgrad"
)
_CONVERTS = (
    "{}: scikit-learn converts the input to NumPy, which xpgrad refuses for a Tensor that requires grad"
)
_Y = two(normal(8), normal(8))
_XY = two(normal(5, 3), normal(4, 3))

METRICS = [
    Call(
        "metrics.mean_squared_error",
        m.mean_squared_error,
        _Y,
        xfail="mean_squared_error returns float(...) (a Python float): the gradient is lost on every backend",
    ),
    Call("metrics.root_mean_squared_error", m.root_mean_squared_error, _Y),
    Call("metrics.mean_absolute_error", m.mean_absolute_error, _Y),
    Call("metrics.r2_score", m.r2_score, _Y),
    Call("metrics.explained_variance_score", m.explained_variance_score, _Y),
    Call("metrics.mean_absolute_percentage_error", m.mean_absolute_percentage_error, _Y),
    Call("metrics.median_absolute_error", m.median_absolute_error, _Y),
    Call("metrics.max_error", m.max_error, _Y),
    Call("metrics.mean_pinball_loss", lambda a, b: m.mean_pinball_loss(a, b, alpha=0.3), _Y),
    Call("metrics.mean_squared_log_error", m.mean_squared_log_error, two(pos(8), pos(8))),
    Call("metrics.mean_poisson_deviance", m.mean_poisson_deviance, two(pos(8), pos(8))),
    Call("metrics.mean_gamma_deviance", m.mean_gamma_deviance, two(pos(8), pos(8))),
    Call(
        "metrics.mean_tweedie_deviance",
        lambda a, b: m.mean_tweedie_deviance(a, b, power=1.5),
        two(pos(8), pos(8)),
    ),
    Call("metrics.d2_tweedie_score", lambda a, b: m.d2_tweedie_score(a, b, power=1.5), two(pos(8), pos(8))),
    Call("metrics.d2_absolute_error_score", m.d2_absolute_error_score, _Y),
    Call(
        "metrics.log_loss",
        lambda y, p: m.log_loss(y, p, labels=[0, 1, 2]),
        two(labels(6, 3), probs(6, 3)),
        xfail="log_loss binarizes the labels with NumPy: fails on torch (torch.all of a NumPy array) and on xpgrad (reshape of a list)",
    ),
    Call(
        "metrics.brier_score_loss",
        lambda y, p: m.brier_score_loss(y, p),
        two(labels(8, 2), uniform(0.1, 0.9, 8)),
    ),
]

PAIRWISE = [
    Call("pairwise.rbf_kernel", lambda x, y: pw.rbf_kernel(x, y, gamma=0.5), _XY),
    Call("pairwise.linear_kernel", pw.linear_kernel, _XY),
    Call("pairwise.polynomial_kernel", lambda x, y: pw.polynomial_kernel(x, y, degree=2), _XY),
    Call("pairwise.sigmoid_kernel", lambda x, y: pw.sigmoid_kernel(x, y, gamma=0.3), _XY),
    Call("pairwise.laplacian_kernel", lambda x, y: pw.laplacian_kernel(x, y, gamma=0.3), _XY, second=False),
    Call("pairwise.chi2_kernel", lambda x, y: pw.chi2_kernel(x, y), two(pos(4, 3), pos(3, 3))),
    Call("pairwise.additive_chi2_kernel", pw.additive_chi2_kernel, two(pos(4, 3), pos(3, 3))),
    Call(
        "pairwise.cosine_similarity",
        pw.cosine_similarity,
        _XY,
        xfail=_INPLACE.format("pairwise.cosine_similarity"),
    ),
    Call(
        "pairwise.cosine_distances",
        pw.cosine_distances,
        _XY,
        xfail=_INPLACE.format("pairwise.cosine_distances"),
    ),
    Call("pairwise.euclidean_distances", pw.euclidean_distances, _XY),
    Call("pairwise.manhattan_distances", pw.manhattan_distances, _XY, second=False),
    Call(
        "pairwise.paired_euclidean_distances", pw.paired_euclidean_distances, two(normal(4, 3), normal(4, 3))
    ),
    Call(
        "pairwise.paired_cosine_distances",
        pw.paired_cosine_distances,
        two(normal(4, 3), normal(4, 3)),
        xfail=_INPLACE.format("pairwise.paired_cosine_distances"),
    ),
]

PREPROCESSING = [
    Call(
        "preprocessing.normalize",
        lambda x: pre.normalize(x),
        normal(4, 3),
        xfail=_INPLACE.format("preprocessing.normalize"),
    ),
    Call(
        "preprocessing.normalize(l1)",
        lambda x: pre.normalize(x, norm="l1"),
        normal(4, 3),
        second=False,
        xfail=_INPLACE.format("preprocessing.normalize(l1)"),
    ),
    Call("preprocessing.scale", lambda x: pre.scale(x), normal(6, 3), xfail=_CONVERTS.format("scale")),
    Call("preprocessing.minmax_scale", lambda x: pre.minmax_scale(x), normal(6, 3), ref="fd"),
    Call("preprocessing.maxabs_scale", lambda x: pre.maxabs_scale(x), normal(6, 3), ref="fd", second=False),
    Call(
        "preprocessing.StandardScaler",
        lambda x: pre.StandardScaler().fit_transform(x),
        normal(6, 3),
        xfail=_INPLACE.format("preprocessing.StandardScaler"),
    ),
    Call("preprocessing.MinMaxScaler", lambda x: pre.MinMaxScaler().fit_transform(x), normal(6, 3)),
    Call("preprocessing.MaxAbsScaler", lambda x: pre.MaxAbsScaler().fit_transform(x), normal(6, 3)),
    Call(
        "preprocessing.Normalizer",
        lambda x: pre.Normalizer().fit_transform(x),
        normal(4, 3),
        xfail=_INPLACE.format("preprocessing.Normalizer"),
    ),
    Call("preprocessing.KernelCenterer", lambda k: pre.KernelCenterer().fit_transform(k), normal(4, 4)),
    Call(
        "preprocessing.PolynomialFeatures",
        lambda x: pre.PolynomialFeatures(2).fit_transform(x),
        normal(4, 2),
        xfail=_INPLACE.format("preprocessing.PolynomialFeatures"),
    ),
]


def _lda(x):
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    xp = _ns(x)
    return da.LinearDiscriminantAnalysis(solver="svd").fit(x, xp.asarray(y)).transform(x)


def _ns(x):
    from array_api_compat import array_namespace

    return array_namespace(x)


def _fitted_ridge():
    import sklearn

    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal(6)
    with sklearn.config_context(array_api_dispatch=False):
        return lm.Ridge(alpha=0.5).fit(x, y)


def _ridge_predict(x, y, xt):
    return lm.Ridge(alpha=0.5, solver="svd").fit(x, y).predict(xt)


def _linreg_predict(x, y, xt):
    return lm.LinearRegression().fit(x, y).predict(xt)


MODELS = [
    Call(
        "decomposition.PCA.fit_transform",
        lambda x: dec.PCA(n_components=2, svd_solver="full").fit_transform(x),
        normal(6, 3),
        xfail=_INPLACE.format("decomposition.PCA.fit_transform"),
    ),
    Call(
        "decomposition.PCA.transform",
        lambda x, z: dec.PCA(n_components=2, svd_solver="covariance_eigh").fit(x).transform(z),
        two(normal(6, 3), normal(2, 3)),
    ),
    Call(
        "discriminant_analysis.LinearDiscriminantAnalysis.transform",
        _lda,
        normal(9, 2),
        second=False,
        xfail=_INPLACE.format("discriminant_analysis.LinearDiscriminantAnalysis.transform"),
    ),
    Call(
        "linear_model.Ridge.predict",
        _ridge_predict,
        lambda rng: [rng.standard_normal((6, 3)), rng.standard_normal(6), rng.standard_normal((2, 3))],
    ),
    Call(
        "linear_model.LinearRegression.predict",
        _linreg_predict,
        lambda rng: [rng.standard_normal((6, 3)), rng.standard_normal(6), rng.standard_normal((2, 3))],
        xfail=_CONVERTS.format("LinearRegression.fit (scipy.linalg.lstsq)"),
    ),
]

MODELS += [
    Call(
        "linear_model.Ridge.predict(fitted on NumPy)",
        lambda xt: _fitted_ridge().predict(xt),
        normal(2, 3),
        xfail="scikit-learn refuses to predict on another namespace than the model was fitted on (NumPy here); "
        "fit on the differentiable arrays instead (linear_model.Ridge.predict)",
    ),
]

CALLS = METRICS + PAIRWISE + PREPROCESSING + MODELS


@pytest.mark.parametrize("call", params(CALLS))
def test_sklearn(call):
    run(call)
