"""What the operator's rules need to know of each operation, read from the operations.

The rules (:mod:`bot.operator_rules`) stand below every room and know no operation; whoever
reads them passes these, so a name in ``approvals.commands`` is checked against the operations
this bot has.
"""

from __future__ import annotations

from bot.operator_rules import OperationTerms
from bot.ops.operation import Operation

OPERATIONS = {
    op.value: OperationTerms(op.permissions, op.requester_confirms, op.needs_approver)
    for op in Operation
}
