"""The deploy runtime: gated, verified Helm deploys with automatic rollback (standard library only).

This package is copied whole into the Dagger tools container, which has Python but none of
the module's dependencies, and runs there as `python -m pipeline.deploy` (see __main__.py);
it runs the same way on a laptop. Nothing here may import outside the standard library and
`pipeline.deploy` (tests/module/test_layers.py enforces it).
"""
