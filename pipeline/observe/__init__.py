"""Observe: the worker watching itself. Prometheus metrics on a registry of their own, one
telemetry function per event (it logs and counts), and the /metrics and /health server.
"""
