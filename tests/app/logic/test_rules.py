"""The notification rules: which events go at which level (pure, no Qt)."""

from __future__ import annotations

import pytest

from lattice_rt_tray.logic.rules import (
    BUILT_IN,
    MAX_RULES,
    Level,
    Rule,
    RuleError,
    level_of,
    load_rules,
    parse_rule,
)


def ev(area="workflow", kind="workflow_run", ws="ws_a", **payload):
    return {"seq": 1, "area": area, "event_type": kind, "workspace_id": ws, "payload": payload}


DEPLOY = ev("deploy", "deploy_started", "ws_ops", target="prod-eu", version="4.2.1")
INDEXED = ev("graph", "graph_indexed", "ws_a", graph_id="g1")
FAILED = ev("workflow", "workflow_failed", "ws_a", name="Nightly import", error="disk full")
STATUS = {"seq": 2, "area": "presence", "event_type": "status", "workspace_id": "ws_a",
          "payload": {"status": "away"}}


def test_the_built_in_judgement_without_rules():
    assert level_of(FAILED) is Level.CRITICAL
    assert level_of(STATUS) is Level.LOW
    assert level_of(DEPLOY) is Level.NORMAL
    assert BUILT_IN[-1].describe() == "anything → normal"
    assert BUILT_IN[0].describe() == "failures → critical"


def test_the_examples_of_the_issue_and_first_match_wins():
    rules = (
        Rule(Level.CRITICAL, workspace="ws_ops", type="deploy*"),  # deploys in ws_ops
        Rule(Level.SILENT, area="graph", type="graph_indexed"),
        Rule(Level.NORMAL, text="prod"),  # anything mentioning prod
    )
    assert level_of(DEPLOY, rules) is Level.CRITICAL  # mentions prod too: the first wins
    assert level_of(INDEXED, rules) is Level.SILENT
    elsewhere = ev("deploy", "deploy_started", "ws_dev", target="prod-us")
    assert level_of(elsewhere, rules) is Level.NORMAL
    # a failure mentioning prod is normal now: the user's rule comes before the built-in
    assert level_of(ev(kind="run_failed", note="PROD db"), rules) is Level.NORMAL
    assert level_of(FAILED, rules) is Level.CRITICAL  # no rule of the user's matches


def test_fields_server_failure_and_case():
    rule = Rule(Level.SILENT, server="team", failure=True)
    assert rule.matches(FAILED, "a1b2c3", "Team")  # by the connection's name
    assert rule.matches(FAILED, "team", "Other")  # or its key
    assert not rule.matches(FAILED, "local", "This computer")
    assert not rule.matches(DEPLOY, "team", "Team")  # not a failure
    assert Rule(Level.LOW, area="GRAPH", type="Graph_*").matches(INDEXED)
    assert not Rule(Level.LOW, workspace="ws_b").matches(INDEXED)
    assert not Rule(Level.LOW, workspace="ws_*").matches(ev(ws=None))
    nested = ev(payload_ref={"steps": [{"host": "db.PROD.lan"}]})
    assert Rule(Level.LOW, text="prod.lan").matches(nested)
    assert not Rule(Level.LOW, text="prod").matches(ev(prod_flag=True))  # keys are not text


def test_parse_and_round_trip():
    rule = parse_rule({"level": " Critical ", "workspace": "ws_ops", "type": "deploy*",
                       "failure": "no"})
    assert rule == Rule(Level.CRITICAL, workspace="ws_ops", type="deploy*")
    assert rule.to_mapping() == {"level": "critical", "workspace": "ws_ops", "type": "deploy*"}
    every = Rule(Level.SILENT, "Team", "ws_a", "graph", "indexed", "prod", True)
    assert parse_rule(every.to_mapping()) == every
    assert every.describe() == ("failures · on Team · in ws_a · area graph · type indexed · "
                                "mentioning 'prod' → silent")


@pytest.mark.parametrize(("data", "message"), [
    ({}, "it has no level (one of critical, normal, low, silent)"),
    ({"level": "urgent"}, "unknown level 'urgent' (one of critical, normal, low, silent)"),
    ({"level": "low", "typ": "x"},
     "unknown field 'typ' (a rule has level, server, workspace, area, type, text, failure)"),
    ({"level": "low", "failure": "maybe"}, "failure must be yes or no, not 'maybe'"),
    ({"level": "low", "text": ["a", "b"]}, "text must be text, not list"),
    ({"level": "low", "area": "x" * 201}, "area is longer than 200 characters"),
    ({"level": "low", "area": "a\nb"}, "area holds a control character"),
])
def test_a_bad_rule_says_why(data, message):
    with pytest.raises(RuleError) as caught:
        parse_rule(data)
    assert str(caught.value) == message


def test_loading_keeps_every_good_rule_and_names_the_bad_ones():
    rules, problems = load_rules([
        ("1", {"level": "critical", "type": "deploy*"}),
        ("2", {"level": "urgent"}),
        ("3", {"level": "silent", "area": "graph"}),
    ])
    assert rules == (Rule(Level.CRITICAL, type="deploy*"), Rule(Level.SILENT, area="graph"))
    assert problems == ["rule 2 skipped: unknown level 'urgent' "
                        "(one of critical, normal, low, silent)"]
    many, said = load_rules((str(n), {"level": "low"}) for n in range(MAX_RULES + 2))
    assert len(many) == MAX_RULES and said == [
        f"rule {MAX_RULES} skipped: more than {MAX_RULES} rules",
        f"rule {MAX_RULES + 1} skipped: more than {MAX_RULES} rules"]
