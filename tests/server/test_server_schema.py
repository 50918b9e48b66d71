"""Property-based checks of the OpenAPI schema against the real server (schemathesis): for
every operation, valid and invalid generated requests get documented answers, never a 5xx."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")  # a test extra: pip install -e '.[test]'

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

EXAMPLES = 15  # per operation and mode: bounded, so the whole run stays well under 60 s


def test_api_matches_its_schema(live_server):
    # Loaded by hand rather than with schemathesis' pytest plugin, whose lazy fixture loader
    # reads a pytest attribute that pytest 9 no longer has.
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case):
                # A schema-valid upload is still refused unless its bytes are real audio, so
                # "valid data is accepted" cannot hold for generated files.
                case.call_and_validate(timeout=60, excluded_checks=[positive_data_acceptance])

            try:
                check()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing invalid to send, e.g. GET /
            except (Exception, FailureGroup) as error:  # collect all, report at once
                failures.append(f"{operation.label} ({mode}): {error}")
    if failures:
        pytest.fail("\n\n".join(failures))
