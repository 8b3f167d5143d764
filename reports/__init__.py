"""Baselines, run history, the regression comparison and the dashboard."""
