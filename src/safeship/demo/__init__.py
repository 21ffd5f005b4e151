"""The demo model ``demo-chat``: corpus sources, preparation and training (dvc.yaml stages)."""
