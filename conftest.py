"""Root conftest: load the rsa-rules step library for this repository's own test run.

The library is installed as a pytest11 entry point (``rsa_rules``) for users' projects.
Here pyproject.toml blocks that entry point (``-p no:rsa_rules``) and loads the same plugin
module from this file instead, so it is imported after pytest-cov starts measuring.
"""

pytest_plugins = ["rsa_rules.bdd.plugin"]
