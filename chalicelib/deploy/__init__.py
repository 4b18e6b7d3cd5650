"""Deployment tooling: the CloudFormation merge template and ``chalice package`` (never run in Lambda)."""
