"""Generator adapters: one Protocol, chosen by a version's ``config.json``."""
