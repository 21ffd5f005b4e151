"""Data lineage: what produced a version (git, dvc.lock, environment) and how two versions differ."""
