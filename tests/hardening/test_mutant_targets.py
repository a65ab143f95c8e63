"""Every mutant of mutants.py still has something to mutate and a test to run.

The mutation run itself is manual (``python -m tests.hardening.mutants``,
minutes); this is the fast part of it: a refactoring that moves or rewrites a
protected line must update its mutant, or this fails.
"""

from __future__ import annotations

import re

import pytest

from tests.hardening.mutants import MUTANTS, ROOT, Mutant


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_the_text_to_mutate_occurs_exactly_once(mutant: Mutant) -> None:
    text = (ROOT / mutant.path).read_text(encoding="utf-8")
    assert text.count(mutant.old) == 1, (
        f"{mutant.name}: {mutant.old!r} occurs {text.count(mutant.old)} times in "
        f"{mutant.path}; update tests/hardening/mutants.py"
    )
    assert mutant.new != mutant.old


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_the_test_that_kills_it_exists(mutant: Mutant) -> None:
    path, _, name = mutant.test.partition("::")
    source = (ROOT / path).read_text(encoding="utf-8")
    assert re.search(rf"^def {re.escape(name)}\(", source, re.MULTILINE), (
        f"{mutant.name}: no test {name} in {path}; update tests/hardening/mutants.py"
    )


def test_mutant_names_are_unique() -> None:
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names))
