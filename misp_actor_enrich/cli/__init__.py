"""The command line: ``misp-actor-enrich`` (``cli.main``), one module per subcommand.

The top layer: it may import ``misp``, ``data`` and ``core``; nothing imports it.
"""
