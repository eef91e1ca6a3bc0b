"""Benchmarks: ``cold_start.py`` (cold-start time per handler against the boto3 floor) and ``calls.py`` (AWS
requests and DynamoDB capacity per operation). ``make bench`` runs both; ``bench/README.md`` explains how to read
them. Scenarios (how to build a succeeding request for each function) live in :mod:`bench.scenarios`.
"""
