"""Raises while its module is imported."""
raise RuntimeError("the strategy's data feed is not configured")
