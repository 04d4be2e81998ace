"""Test helpers shared by the suites (on the pytest pythonpath: `from support.https import ...`)."""
