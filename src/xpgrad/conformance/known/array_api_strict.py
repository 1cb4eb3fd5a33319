"""array-api-strict against torch: it refuses what the standard leaves unspecified."""

from xpgrad.testing import KnownDifference as K

KNOWN = [
    # Unspecified behaviour that array_api_strict refuses (torch and NumPy accept it).
    K("astype", "to_float64", "complex*", "*", "array_api_strict refuses complex-to-real astype (TypeError)"),
    K("clip", "min_above_max", "*", "*", "array_api_strict raises for min > max (unspecified by the standard)"),
    # Index forms beyond the standard's minimum.
    K(
        "__getitem__", "int_array,Ellipsis", "*", "*",
        "array_api_strict allows integer arrays only with integer indices (the standard's minimum; "
        "NumPy and torch allow slices and Ellipsis)",
    ),
    K(
        "__getitem__", "slice,int_array", "*", "*",
        "array_api_strict allows integer arrays only with integer indices (the standard's minimum; "
        "NumPy and torch allow slices and Ellipsis)",
    ),
    K(
        "__getitem__", "bool_mask,Ellipsis", "*", "*",
        "array_api_strict allows a boolean mask only as the sole index (the standard's minimum)",
    ),
    # Casting rules: array_api_strict follows the standard, torch its own.
    K(
        "can_cast", "float64->float32", "*", "forward",
        "torch: can_cast(float64, float32) is True (torch's casting rules); the standard and "
        "array_api_strict say False",
    ),
    K(
        "can_cast", "array", "*", "forward",
        "torch: can_cast(float64 array, float32) is True (torch's casting rules); the standard and "
        "array_api_strict say False",
    ),
    K(
        "can_cast", "int32->float64", "*", "forward",
        "torch: can_cast(int32, float64) is True; array_api_strict says False (the standard has no "
        "casting between kinds)",
    ),
]  # fmt: skip
