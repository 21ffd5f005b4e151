"""Prefect flows: they sequence tasks and pause for people; the core decides."""
