"""pytest plugin (entry point ``pytest11``): the rsa-rules step library, when pytest-bdd is present."""
