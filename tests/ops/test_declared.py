"""Every operation is declared once, in its own module, and a declaration with a piece missing
fails when the registry is built (at import), not after an approval."""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

import pytest

from bot.access.approvals import Gate
from bot.ops import delete_key, rotate
from bot.ops.followups import FollowUp
from bot.ops.operation import Operation
from bot.ops.registry import BUTTONS, MODULES, REGISTRY, _declarations, collect
from bot.slack.commands import SUBCOMMANDS


def _with(name: Operation, **changed: object) -> list:
    """Every declaration, the one of ``name`` changed."""
    return [replace(d, **changed) if d.name == name else d for d in REGISTRY.values()]


def test_the_registry_is_every_module_s_own_declarations() -> None:
    assert [d for m in MODULES for d in _declarations(m)] == list(REGISTRY.values())
    assert set(REGISTRY) == set(Operation)


def test_a_declaration_without_who_may_ask_fails_when_the_registry_is_built() -> None:
    gate = replace(rotate.DECLARED.gate, permissions=())
    with pytest.raises(TypeError, match=r"operation 'rotate' lacks who may ask"):
        collect(_with(Operation.ROTATE, gate=gate))


def test_a_declaration_without_an_executor_fails_when_the_registry_is_built() -> None:
    with pytest.raises(TypeError, match=r"operation 'delete-key' lacks an executor"):
        collect(_with(Operation.DELETE_KEY, execute=None))


def test_a_requester_confirmed_operation_cannot_declare_a_floor_of_approvers() -> None:
    gate = Gate(("rotate",), confirms=True, floor=1, target=rotate.DECLARED.gate.target)
    with pytest.raises(TypeError, match="a floor of 0 or 1 approvers"):
        collect(_with(Operation.ROTATE, gate=gate))


def test_an_operation_or_a_button_nobody_declares_fails_when_the_registry_is_built() -> None:
    without_delete = [d for d in REGISTRY.values() if d.name != Operation.DELETE_KEY]
    with pytest.raises(TypeError, match="operations without a declaration: delete-key"):
        collect(without_delete)
    with pytest.raises(TypeError, match="follow-ups that no operation declares"):
        collect(_with(Operation.DELETE_KEY, buttons=(), asked_by="x"))  # asked, not pressed
    with pytest.raises(TypeError, match="declared by two operations"):
        collect(_with(Operation.DEACTIVATE, buttons=(FollowUp.DEACTIVATE_NOW, FollowUp.EXTEND)))


def test_a_module_without_its_declaration_fails_when_the_registry_is_built() -> None:
    with pytest.raises(TypeError, match=r"bot\.ops\.nothing declares no DECLARED"):
        _declarations(ModuleType("bot.ops.nothing"))


def test_a_button_needs_the_permissions_of_the_operation_it_opens() -> None:
    assert (
        BUTTONS[FollowUp.DELETE_KEY] == delete_key.DECLARED.permissions == ("deactivate", "rotate")
    )


def test_every_operation_is_asked_for_by_a_subcommand_that_takes_its_permissions() -> None:
    """Each declared ``asked_by`` is an /iam subcommand (which the manifest's usage hint names:
    tests/slack/test_manifest.py); a subcommand named for an operation takes exactly the
    permissions the operation declares."""
    table = {s.name: s for s in SUBCOMMANDS}
    for d in REGISTRY.values():
        assert not d.asked_by or d.asked_by in table, d.name
        if d.name in table:
            assert table[d.name].permissions == d.permissions, d.name
