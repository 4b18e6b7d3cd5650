"""A stand-in for Lambda's context object, for the local launcher and tests."""

from __future__ import annotations

import time
import uuid

__all__ = ["LocalContext"]


class LocalContext:
    """The attributes of Lambda's context that handlers and libraries read."""

    def __init__(self, function_name: str, timeout_seconds: float = 60.0):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
