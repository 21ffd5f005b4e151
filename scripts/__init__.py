"""Scripts that run the product: the demo driver and the deployment server (not flows)."""
