"""Helpers the tests and benchmarks share, imported as a package (`from helpers.devices import
Device`): test folders hold only test modules and their conftest.py.

pytest finds the package through `pythonpath` (pyproject.toml); a benchmark run as a plain script
(`.venv/bin/python benchmarks/hub_bench.py`) through the path file the Makefile puts in the venv.
`fixtures` is a pytest plugin (tests/conftest.py loads it) with the fixtures several folders use.
"""
