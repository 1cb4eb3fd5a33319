"""Gradient conformance of xpgrad against torch.autograd, on any backend.

``pytest conformance [--backend numpy|torch|array_api_strict|jax|<module>]`` runs every OpInfo
sample of ``xpgrad.testing.op_db()`` at every dtype and check (forward, first, second order)
through the shared runner (:func:`xpgrad.testing.run_check`); known differences are strict
xfails with their reason.
"""
