"""OpenLineage for the guard: the verdict as DataQualityAssertions on the staging dataset."""

from __future__ import annotations

from typing import Any


def guard_lineage(op: Any) -> Any:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.generated.data_quality_assertions_dataset import (
        Assertion,
        DataQualityAssertionsDatasetFacet,
    )

    from purpose_lineage.core.report import render_path
    from purpose_lineage.ol.facets import VERDICT_FACET_KEY, verdict_facet
    from purpose_lineage.operators.openlineage import namespace_of

    outcome = op.outcome
    if outcome is None:
        return OperatorLineage()
    namespace = namespace_of(op.get_db_hook())
    staging, target = op._qualified(op.staging_table), op._qualified(op.target_table)
    assertions = [
        Assertion(
            assertion="no_forbidden_purpose_flow",
            success=False,
            column=v.sink_column,
            severity="error",
            name=v.rule,
            description=f"{v.category} collected for {v.purpose} reaches {v.sink}",
            content=render_path(v),
            contentType="text",
        )
        for v in outcome.violations
    ]
    if not outcome.violations:
        assertions.append(
            Assertion(
                assertion="no_forbidden_purpose_flow",
                success=outcome.passed,
                severity="error" if not outcome.passed else "info",
                description="; ".join(outcome.reasons) or "no forbidden purpose flow into the sink",
            )
        )
    if outcome.affected_count is not None:
        assertions.append(
            Assertion(
                assertion="no_security_only_identifiers",
                success=outcome.affected_count == 0,
                severity="error" if outcome.affected_count else "info",
                actual=str(outcome.affected_count),
                expected="0",
                description="distinct security-only identifiers matched by keyed fingerprints",
            )
        )
    staging_ds = Dataset(
        namespace=namespace,
        name=staging,
        facets={"dataQualityAssertions": DataQualityAssertionsDatasetFacet(assertions=assertions)},
    )
    outputs = [Dataset(namespace=namespace, name=target)] if outcome.passed else []
    run_facets = {
        VERDICT_FACET_KEY: verdict_facet(
            outcome.violations, unknowns=len(outcome.unknown_tables), affected=outcome.affected_count
        )
    }
    return OperatorLineage(inputs=[staging_ds], outputs=outputs, run_facets=run_facets)
