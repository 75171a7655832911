"""Performance benchmarks (run with ``make bench`` or ``python -m benchmarks``).

Each ``bench_*.py`` module defines ``main(argv=None) -> dict`` that measures the package against
a baseline in the same run and writes its results under ``benchmarks/results/``.
"""
