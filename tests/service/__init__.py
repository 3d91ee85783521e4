"""Tests of the CDS Hooks service: HTTP, authentication, storage, command line."""
