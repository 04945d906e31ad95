"""Test support: broker and database provisioning, waiting helpers, subprocess services."""
