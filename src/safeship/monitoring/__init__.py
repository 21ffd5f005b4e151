"""Monitoring of deployed versions: integrity, output drift, traffic safety rates, rescans and the policy that turns findings into actions."""
