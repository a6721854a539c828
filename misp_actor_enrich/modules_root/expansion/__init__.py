"""misp-modules' ``expansion`` type folder: ``actor_enrich.py`` is the module it loads (this file is skipped)."""
