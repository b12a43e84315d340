"""The SAM templates of both Lambdas bound what a public caller can spend: a throttle on the
HTTP API's stage, a reserved concurrency, a log group with a retention (issue 18, #11).

Read with test_sam.py's loader (``!Ref``/``!If`` as CloudFormation's long forms); cfn-lint
and ``sam local`` run in test_sam.py.
"""

from __future__ import annotations

import pytest
import yaml
from test_sam import LOGICAL_IDS, TEMPLATES, _CloudFormationLoader


def template(name: str) -> dict:
    return yaml.load(TEMPLATES[name].read_text(encoding="utf-8"), _CloudFormationLoader)


def default(tpl: dict, ref: dict) -> int:
    """The default of the Parameter ``ref`` ({"Ref": name}) points to."""
    return int(tpl["Parameters"][ref["Ref"]]["Default"])


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_http_api_stage_is_throttled(name):
    tpl = template(name)
    settings = tpl["Globals"]["HttpApi"]["DefaultRouteSettings"]
    rate = default(tpl, settings["ThrottlingRateLimit"])
    burst = default(tpl, settings["ThrottlingBurstLimit"])
    assert 1 <= rate <= burst, (rate, burst)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_function_has_a_reserved_concurrency_by_default(name):
    tpl = template(name)
    props = tpl["Resources"][LOGICAL_IDS[name]]["Properties"]
    cond, on, off = props["ReservedConcurrentExecutions"]["Fn::If"]
    assert off == {"Ref": "AWS::NoValue"}
    # the condition is "the parameter is not 0", and the default is not 0
    (test,) = tpl["Conditions"][cond]["Fn::Not"]
    assert test == {"Fn::Equals": [on, 0]}
    assert default(tpl, on) >= 1


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_function_logs_to_a_group_with_a_retention(name):
    tpl = template(name)
    props = tpl["Resources"][LOGICAL_IDS[name]]["Properties"]
    group = tpl["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    days = group["Properties"]["RetentionInDays"]
    assert 1 <= default(tpl, days) <= 365
