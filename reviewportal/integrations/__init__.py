"""Upstream systems: service tokens, their authentication and the scopes they carry."""
