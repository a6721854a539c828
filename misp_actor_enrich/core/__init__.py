"""The pure core: names, galaxy records, identities, the alias index, targeting, answers, text scanning.

No file, network or MISP access here, and no import from the other subpackages.
"""
