"""OpenLineage events built with openlineage-python's own classes (shared by unit and integration tests)."""

from __future__ import annotations

import json

from openlineage.client import event_v2 as ev
from openlineage.client import facet_v2 as fv
from openlineage.client.serde import Serde

API_KEY = "test-key-0123456789"
PG = "postgres://warehouse:5432"


def field(name: str, field_: str, type_: str, subtype: str | None, masking: bool | None = None, ns: str = PG):
    t = fv.column_lineage_dataset.Transformation(type=type_, subtype=subtype, masking=masking)
    return fv.column_lineage_dataset.InputField(namespace=ns, name=name, field=field_, transformations=[t])


def incident_event(run_id: str = "01970000-0000-7000-8000-000000000001", event_type: str = "COMPLETE"):
    """An Airflow task matching advertisers' phone lists against 2FA phones (a JOIN KEY use only)."""
    users = ev.InputDataset(
        namespace=PG,
        name="auth.users_2fa",
        facets={
            "schema": fv.schema_dataset.SchemaDatasetFacet(
                fields=[
                    fv.schema_dataset.SchemaDatasetFacetFields(name="user_id", type="bigint"),
                    fv.schema_dataset.SchemaDatasetFacetFields(name="phone", type="text"),
                ]
            ),
            "tags": fv.tags_dataset.TagsDatasetFacet(
                tags=[
                    fv.tags_dataset.TagsDatasetFacetFields(
                        key="data_category",
                        value="user.contact.phone_number",
                        source="DECLARED",
                        field="phone",
                    ),
                    fv.tags_dataset.TagsDatasetFacetFields(
                        key="purpose", value="essential.service.security", source="DECLARED", field="phone"
                    ),
                    fv.tags_dataset.TagsDatasetFacetFields(key="owner", value="security-team"),
                ]
            ),
        },
        inputFacets={
            "dataQualityAssertions": fv.data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                assertions=[
                    fv.data_quality_assertions_dataset.Assertion(
                        assertion="not_null", success=True, column="phone", severity="error"
                    )
                ]
            )
        },
    )
    uploads = ev.InputDataset(namespace=PG, name="ads.uploaded_phones")
    audience = ev.OutputDataset(
        namespace=PG,
        name="ads.audience",
        facets={
            "columnLineage": fv.column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={
                    "user_id": fv.column_lineage_dataset.Fields(
                        inputFields=[field("auth.users_2fa", "user_id", "DIRECT", "IDENTITY")]
                    ),
                    "advertiser_id": fv.column_lineage_dataset.Fields(
                        inputFields=[field("ads.uploaded_phones", "advertiser_id", "DIRECT", "IDENTITY")]
                    ),
                },
                dataset=[
                    field("auth.users_2fa", "phone", "INDIRECT", "JOIN"),
                    field("ads.uploaded_phones", "phone", "INDIRECT", "JOIN"),
                ],
            )
        },
    )
    return ev.RunEvent(
        eventType=ev.RunState[event_type],
        eventTime="2026-04-01T10:00:00.123456789Z",
        run=ev.Run(
            runId=run_id,
            facets={
                "airflow": {"dag": {"dag_id": "ads_sync"}, "task": {"task_id": "match_audience"}},
            },
        ),
        job=ev.Job(namespace="airflow", name="ads_sync.match_audience"),
        inputs=[users, uploads],
        outputs=[audience],
        producer="https://github.com/apache/airflow/tree/providers-openlineage/2.20.3",
    )


def as_dict(event) -> dict:
    return json.loads(Serde.to_json(event))
