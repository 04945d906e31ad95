"""Tests of the ingress service."""
