"""The webhook kind registry: every module in kinds/ is a kind LOGWEIR_WEBHOOKS can name, with
its own test beside this one; an unknown kind is one line naming the known ones."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.alerting.notify import kinds
from pipeline.alerting.notify.kinds.base import Kind
from pipeline.settings import Settings, WebhookTarget

MODULES = sorted(m.name for m in pkgutil.iter_modules(kinds.__path__) if m.name != "base")


def test_every_module_registers_the_kind_it_is_named_after():
    assert kinds.names() == MODULES


@pytest.mark.parametrize("name", MODULES)
def test_every_kind_has_its_own_test(name):
    assert (Path(__file__).parent / f"test_{name}.py").is_file()


def test_settings_accept_known_kinds_and_name_them_for_an_unknown_one():
    assert WebhookTarget(name="t", url="http://x").kind == "generic"
    with pytest.raises(ValidationError) as caught:
        Settings(webhooks=[{"name": "t", "url": "http://x", "kind": "pigeon"}])  # type: ignore[list-item]
    assert f"unknown webhook kind 'pigeon': one of {', '.join(MODULES)}" in str(caught.value)


def test_a_kind_has_a_name_of_its_own():
    with pytest.raises(TypeError, match="two webhook kinds are named 'slack'"):
        kinds.register(Kind("slack", lambda alert, target: b""))
