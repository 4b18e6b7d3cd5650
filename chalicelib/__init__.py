"""The workflow service: a PingIDM-compatible BPMN workflow REST API on Chalice and DynamoDB."""
