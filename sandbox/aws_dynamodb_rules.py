"""DynamoDB in the faithful layer (``sandbox/aws.py``): a write with a condition is checked and
made as one step, as DynamoDB does. moto checks, then writes, so two writers racing for one item
could both pass a condition only one of them may (a journal entry was lost that way under load).
"""

from __future__ import annotations

import threading

from sandbox.aws_wire import Request, Response

# The writes whose condition moto checks apart from the write itself.
CONDITIONAL_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")


class WritesDynamoAtomically:
    """FaithfulAws's handler of DynamoDB's writes: one at a time through moto."""

    _dynamo_writes: threading.Lock

    def _atomic_write(self, req: Request) -> Response:
        with self._dynamo_writes:
            return self._forward(req)
