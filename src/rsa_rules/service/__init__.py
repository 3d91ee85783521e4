"""The CDS Hooks 2.0 service (FastAPI), started with ``rsa-rules serve``."""
