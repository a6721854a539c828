"""The custom-module root for ``misp-modules -c``; a package only so that it ships in the wheel.

misp-modules scans ``expansion/*.py`` here and skips ``__init__.py`` files.
"""
