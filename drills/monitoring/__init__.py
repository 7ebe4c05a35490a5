"""Monitoring and alerting: the runbook's alert conditions as Prometheus rules, and the drill that
proves each fires (and resolves) within its bound on a real Prometheus and Alertmanager."""
