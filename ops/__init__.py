"""Operator tools: small commands that act on a deployed stage (or the local platform) through boto3."""
