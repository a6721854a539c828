"""Exit codes shared by the commands that resolve names (``resolve``, ``scan``) and the dispatcher."""

EXIT_OK, EXIT_UNRESOLVED, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3
