"""The MISP edge: the misp-modules contract, misp_standard output, existing tags, PyMISP bulk enrichment.

Imports ``core`` and ``data``; never ``cli``.
"""
