"""Exit codes shared by the commands that resolve names (``resolve``, ``scan``) and the dispatcher."""

EXIT_OK, EXIT_UNRESOLVED, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3
# As a shell reports a process ended by SIGINT / SIGPIPE (128 + signal number).
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141
RESOLVE_EPILOG = ("exit codes: 0 every name resolved; 1 some name was ambiguous, only a near miss, or unknown; "
                  "2 usage or configuration error; 3 the galaxy data could not be read")
