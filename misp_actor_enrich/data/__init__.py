"""The data edge: galaxy folders, the cache, downloads, sources, site files, and the process-wide knowledge.

Imports ``core`` only; never ``misp`` or ``cli``.
"""
