"""The model registry: models, immutable versions, statuses and deployment state."""
