"""Clinician-readable scenarios: a pytest-bdd step library for rsa-rules (see plugin.py)."""
