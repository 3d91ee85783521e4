"""Adapters from outside formats (FHIR R4) and to outside formats (CDS Hooks cards)."""

from __future__ import annotations
