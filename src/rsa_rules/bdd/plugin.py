"""pytest plugin (entry point pytest11): the rsa-rules step library."""
