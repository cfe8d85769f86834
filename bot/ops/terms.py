"""What the operator's rules need to know of each operation, read from its declaration.

The rules (:mod:`bot.operator_rules`) stand below every room and know no operation; whoever
reads them passes these, so a name in ``approvals.commands`` is checked against the operations
this bot has, and a floor an operation declares is one the file cannot lower.
"""

from __future__ import annotations

from bot.operator_rules import OperationTerms
from bot.ops.registry import REGISTRY

OPERATIONS = {
    name: OperationTerms(d.permissions, d.gate.confirms, d.gate.floor > 0)
    for name, d in REGISTRY.items()
}
