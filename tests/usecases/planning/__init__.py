"""Tests of the planning stage."""
