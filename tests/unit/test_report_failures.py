"""Failed lines grouped by cause: the cause without per-line noise, and the fix of each known cause.

The error texts are copied from results.csv of real runs (tests/integration/test_failure_causes.py
makes the same failures happen end to end): a replay run of web_classification after a prompt change,
the loopback upstream answering 401, 403, 429 or 503 to every call, python nodes importing a package
that is not installed or raising, and evaluation lines skipped because their experiment line failed.
"""

from __future__ import annotations

import pytest

from llmops.report.failures import FailedLine, FailureContext, cause_of, fix_for, group_failures

REFERENCE = " [Error reference: https://platform.openai.com/docs/guides/error-codes/api-errors]"
CASSETTE = "/tmp/fl/miss/use_cases/web_classification/cassettes/experiment.jsonl"


def replay_miss(digest: str) -> str:
    return (
        f"OpenAI API hits NotFoundError: Error code: 404 - replay miss: no recorded response for request {digest} "
        f"(flow 'experiment', node 'classify_with_llm') in '{CASSETTE}'; "
        "record it with `llmops record --use-case web_classification --env pr`" + REFERENCE
    )


def exhausted(port: int, status: int) -> str:
    return (
        f"OpenAI API hits APIStatusError: Error code: 424 - upstream 'azure-http://127.0.0.1:{port}' (gpt-35-turbo) "
        "failed after 5 attempts in 0.0 s (gateway retry bound: max_attempts=5, max_total_seconds=120); "
        f'last error: HTTP {status}: {{"error": {{"message": "scripted failure", "type": "scripted", '
        f'"code": "{status}"}}}}; check that the upstream is up' + REFERENCE
    )


MISSING_MODULE = "Execution failure in 'classify': (ModuleNotFoundError) No module named 'llmops_missing_package_xyz'"
UNLOADABLE_FLOW = (  # no line ran: the CLI prints it as an unexpected ResolveToolError
    "Tool load failed in 'classify': (PythonLoadError) Failed to load python module from file "
    "'/tmp/fl/mod/.llmops/snapshots/353a0d55b6e7c7bf/classify.py': (ModuleNotFoundError) "
    "No module named 'llmops_missing_package_xyz'"
)
CONTEXT = FailureContext("web_classification", "pr", {"experiment": "use_cases/web_classification/flows/experiment/"
                                                                    "requirements.txt"})
RATE_LIMITED = ("the provider is rate-limiting; the failed lines are retried on the next run; "
                "lower CONCURRENCY in llmops_config.json")
KEY_REFUSED = ("the provider refused the key: correct api_key of the flow's connection in .env "
               "(the line named like the connection, e.g. aoai={...})")


@pytest.mark.parametrize(
    ("error", "cause", "fix"),
    [
        (
            replay_miss("971c34091fee6ebf6edd1d54529acde22cf6daa2d906453bcee4dfcbc4896a4b"),
            "OpenAI API hits NotFoundError: Error code: 404 - replay miss: no recorded response for request … "
            f"(flow 'experiment', node 'classify_with_llm') in '{CASSETTE}'; "
            "record it with `llmops record --use-case web_classification --env pr`",
            "record the responses: llmops record -u web_classification -e pr",
        ),
        (
            "OpenAI API hits AuthenticationError: Error code: 401 - scripted failure" + REFERENCE,
            "OpenAI API hits AuthenticationError: Error code: 401 - scripted failure",
            KEY_REFUSED,
        ),
        (
            "OpenAI API hits PermissionDeniedError: Error code: 403 - scripted failure" + REFERENCE,
            "OpenAI API hits PermissionDeniedError: Error code: 403 - scripted failure",
            KEY_REFUSED,
        ),
        (  # the gateway's text names the connection and where it is defined
            "OpenAI API hits AuthenticationError: Error code: 401 - provider answered 401 Unauthorized for "
            "connection 'aoai' (.env line 3): check its api_key" + REFERENCE,
            "OpenAI API hits AuthenticationError: Error code: 401 - provider answered 401 Unauthorized for "
            "connection 'aoai' (.env line N): check its api_key",
            "the provider refused the key of connection 'aoai': correct api_key in .env line 3",
        ),
        (
            "OpenAI API hits PermissionDeniedError: Error code: 403 - provider answered 403 Forbidden for "
            "connection 'aoai' (environment variable aoai): check that its api_key may use this deployment or model",
            "OpenAI API hits PermissionDeniedError: Error code: 403 - provider answered 403 Forbidden for "
            "connection 'aoai' (environment variable aoai): check that its api_key may use this deployment or model",
            "the provider refused the key of connection 'aoai': correct api_key in environment variable aoai",
        ),
        (
            exhausted(45031, 429),
            "upstream 'azure-http://127.0.0.1:45031' (gpt-35-turbo) "
            "failed after N attempts in N s (gateway retry bound: max_attempts=5, max_total_seconds=120); "
            'last error: HTTP 429: {"error": {"message": "scripted failure", "type": "scripted", "code": "429"}}; '
            "check that the upstream is up",
            RATE_LIMITED,
        ),
        (
            exhausted(35661, 503),
            "upstream 'azure-http://127.0.0.1:35661' (gpt-35-turbo) "
            "failed after N attempts in N s (gateway retry bound: max_attempts=5, max_total_seconds=120); "
            'last error: HTTP 503: {"error": {"message": "scripted failure", "type": "scripted", "code": "503"}}; '
            "check that the upstream is up",
            "the provider did not answer after the gateway's retries; the failed lines are retried on the next run; "
            "check that the provider is up",
        ),
        (
            MISSING_MODULE,
            MISSING_MODULE,
            "install the package: pip install llmops_missing_package_xyz, "
            "and list it in use_cases/web_classification/flows/experiment/requirements.txt",
        ),
        (
            "not evaluated: the experiment line failed",
            "not evaluated: the experiment line failed",
            "these follow from the failed experiment lines: fix those and the next run evaluates them",
        ),
        (  # the report step's text for an evaluation line it has no record of: not known to follow from anything
            "not evaluated",
            "not evaluated",
            None,
        ),
        (
            "Execution failure in 'classify': (ValueError) cannot classify 'https://example.com/b'",
            "Execution failure in 'classify': (ValueError) cannot classify 'https://example.com/b'",
            None,
        ),
    ],
)
def test_cause_and_fix_of_real_errors(error: str, cause: str, fix: str | None) -> None:
    (group,) = group_failures([FailedLine("defaults", "web_classification_pr", 6, error, "experiment")], CONTEXT)
    assert (group.cause, group.fix) == (cause, fix)


def test_lines_failing_the_same_way_form_one_group_and_consequences_come_last() -> None:
    digests = ["84f8fdf8aa3de47df42582831f08b88cb95fd933feb89f278f4154a41095c6e1",
               "55b07504bdc338fea5eb6956326eb5f9f113bc4548a521cf3bf7284dfbfb6164",
               "63d8360afe0f7129acba289357396280b6c8bb426d861eb185813bd1f008708a"]
    lines = [FailedLine("defaults.evaluation", "web_classification_pr_test", 0,
                        "not evaluated: the experiment line failed", "evaluation")]
    lines += [FailedLine(label, "web_classification_pr", index, replay_miss(digest), "experiment")
              for label in ("defaults", "summarize_text_content.variant_1") for index, digest in enumerate(digests)]
    lines += [FailedLine("defaults", "web_classification_pr", 5, exhausted(45031, 429), "experiment")]
    groups = group_failures(lines, CONTEXT)
    assert [(g.count, g.example_text, g.consequence) for g in groups] == [
        (6, "line 0 of defaults (web_classification_pr)", False),
        (1, "line 5 of defaults (web_classification_pr)", False),
        (1, "line 0 of defaults.evaluation (web_classification_pr_test)", True),
    ]


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        ("Node classify in line 6 failed.\nTraceback (most recent call last):", "Node classify in line N failed."),
        ("\n\n  first words  \nsecond line", "first words"),
        ("", "the line failed (no error text)"),
        ("x" * 500, "x" * 399 + "…"),
    ],
)
def test_a_cause_is_the_first_line_without_per_line_noise(error: str, cause: str) -> None:
    assert cause_of(error) == cause


def test_a_flow_that_cannot_load_gets_the_fix_too() -> None:
    assert fix_for(UNLOADABLE_FLOW, FailureContext("mini", "pr")) == (
        "install the package: pip install llmops_missing_package_xyz"
    )
