"""Tests of the importing stage."""
