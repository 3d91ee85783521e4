"""Tests of the FHIR adapter and of CDS Hooks cards."""
