"""``python -m misp_actor_enrich`` is the ``misp-actor-enrich`` command."""

import sys

from .cli.main import main

sys.exit(main())
