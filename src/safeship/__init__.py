"""safeship: a release pipeline for generative-model updates.

The core never imports Prefect; heavy libraries are imported inside the functions that
need them so that ``import safeship`` and the CLI stay fast.
"""

__version__ = "0.1.0"
