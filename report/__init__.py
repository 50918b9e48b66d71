"""The technical report's generator: ``report/build.py`` is the entry point."""
