"""Managers' reports and the consultants' morning email.

Each computation is a function of ``(session, period, tz, ...)`` in its own small module, so
the web pages, CSV downloads, charts and emails all show the same numbers.
"""
