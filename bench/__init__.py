"""Benchmarks for tower-webhooks: ``make bench`` (or ``python -m bench``), never part of ``make test``.

Every figure is measured in the same run as the floors it is compared with, and reported as a
ratio: the machines here are shared and noisy, so absolute times mean little on their own.
"""
