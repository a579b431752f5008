"""Keeping clips inside the tool: browser security headers and volume limits."""
