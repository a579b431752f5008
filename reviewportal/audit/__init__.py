"""The access trail: an append-only, hash-chained record of every access, read by auditors."""
