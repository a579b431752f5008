"""Distress escalations: cases, their workflow, owners and deadlines (see issue 6)."""
