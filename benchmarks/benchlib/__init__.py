"""Helpers for ``benchmarks/run.py``: timing, reference tools, tree generators, rows, report.

Not a published package: it is imported only by ``run.py`` (which puts this folder's parent on
``sys.path``) and by the child scripts it starts.
"""
