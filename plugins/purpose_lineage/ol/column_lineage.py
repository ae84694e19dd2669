"""Statement lineage as an OpenLineage ``ColumnLineageDatasetFacet`` (spec 1-2-0).

Each output column lists its input fields, each with one ``Transformation`` per
OpenLineage subtype (``DIRECT``/``IDENTITY``, ``INDIRECT``/``JOIN``...) and its ``masking``
flag. Dataset-wide uses (edges whose target column is None: join keys, filters,
grouping, sorting) go to the facet's ``dataset`` list. Input datasets are named by
their table name in ``namespace``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from openlineage.client.facet_v2 import column_lineage_dataset as cl

from purpose_lineage.core.model import Edge, StatementLineage


def column_lineage_facet(statement: StatementLineage, namespace: str) -> cl.ColumnLineageDatasetFacet:
    """The ColumnLineageDatasetFacet of ``statement``'s output, inputs in ``namespace``.

    >>> from purpose_lineage.core.lineage import analyze
    >>> [st] = analyze("INSERT INTO ad SELECT u.id FROM users u JOIN adv a ON a.h = sha256(u.phone)")
    >>> facet = column_lineage_facet(st, "duckdb://local")
    >>> [(f.name, f.field, [(t.type, t.subtype, t.masking) for t in f.transformations])
    ...  for f in facet.dataset]
    [('adv', 'h', [('INDIRECT', 'JOIN', False)]), ('users', 'phone', [('INDIRECT', 'JOIN', True)])]
    """
    by_column: dict[str, list[Edge]] = defaultdict(list)
    dataset: list[Edge] = []
    for edge in statement.edges:
        if edge.target.column is None:
            dataset.append(edge)
        else:
            by_column[edge.target.column].append(edge)
    order = list(dict.fromkeys([*statement.columns, *sorted(by_column)]))
    fields = {
        column: cl.Fields(inputFields=_input_fields(by_column[column], namespace))
        for column in order
        if by_column.get(column)
    }
    return cl.ColumnLineageDatasetFacet(fields=fields, dataset=_input_fields(dataset, namespace))


def _input_fields(edges: Iterable[Edge], namespace: str) -> list[cl.InputField]:
    grouped: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for edge in edges:
        if edge.source.column is not None:
            grouped[(edge.source.table, edge.source.column)].append(edge)
    return [
        cl.InputField(
            namespace=namespace,
            name=table,
            field=column,
            transformations=[
                cl.Transformation(
                    type=e.kind.value, subtype=e.subtype.value, masking=e.masking, description=e.description
                )
                for e in sorted(grouped[(table, column)], key=lambda e: (e.kind.value, e.subtype.value))
            ],
        )
        for table, column in sorted(grouped)
    ]
