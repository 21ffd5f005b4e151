"""Access (issue 14): identities and their keys, signed statements, roles, the service key."""
