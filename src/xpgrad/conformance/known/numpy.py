"""NumPy (through array_api_compat.numpy) against torch."""

from xpgrad.testing import KnownDifference as K

KNOWN = [
    # NumPy warns where torch is silent; the suite runs with warnings as errors.
    K(
        "astype", "to_float64", "complex*", "*",
        "NumPy warns (ComplexWarning) when astype casts complex to real, an error under -W error; "
        "the standard leaves complex-to-real casts unspecified",
    ),
    # Every check kind runs the forward first: this is why each of them fails on NumPy (torch's
    # own nan gradient at 0j, the OpInfo's entry, shows on the other backends).
    K(
        "sign", "at_zero", "complex*", "*",
        "array_api_compat.numpy.sign computes x / |x| and warns 'invalid value encountered in divide' "
        "at 0j (an error under -W error); xpgrad calls it unguarded",
    ),
    # Casting rules: NumPy follows the standard, torch its own.
    K(
        "can_cast", "float64->float32", "*", "forward",
        "torch: can_cast(float64, float32) is True (torch's casting rules); the standard and NumPy say False",
    ),
    K(
        "can_cast", "array", "*", "forward",
        "torch: can_cast(float64 array, float32) is True (torch's casting rules); the standard and NumPy "
        "say False",
    ),
]  # fmt: skip
