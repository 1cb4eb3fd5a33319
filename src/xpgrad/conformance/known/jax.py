"""JAX (CPU, x64 enabled by the suite) against torch."""

from xpgrad.testing import KnownDifference as K

KNOWN = [
    # JAX warns where torch is silent; the suite runs with warnings as errors.
    K(
        "astype", "to_float64", "complex*", "*",
        "JAX warns (DeprecationWarning: casting complex to real will raise) when astype casts complex "
        "to real, an error under -W error; the standard leaves complex-to-real casts unspecified",
    ),
    # Casting rules: JAX follows the standard, torch its own.
    K(
        "can_cast", "float64->float32", "*", "forward",
        "torch: can_cast(float64, float32) is True (torch's casting rules); the standard and JAX say False",
    ),
    K(
        "can_cast", "array", "*", "forward",
        "torch: can_cast(float64 array, float32) is True (torch's casting rules); the standard and JAX "
        "say False",
    ),
]  # fmt: skip

# Tests of the pytest suite that differ on JAX (strict xfails; see conformance/known/__init__.py).
TESTS = {
    "test_edge_cases.py::test_matches_torch_exactly[*_correction_*N]": (
        "jnp.var/jnp.std return nan when correction >= the number of elements; torch and NumPy "
        "divide by max(N - correction, 0) and give inf"
    ),
}
