"""One description of the canonical plan table (model.PLAN_TABLE) feeds both the empty frame
and the pandera schema, so the two cannot drift apart."""

from __future__ import annotations

from disbursement.ingest.schema import plan_schema
from disbursement.model import PLAN_TABLE, empty_plan


def test_empty_plan_has_every_column_of_its_dtype_and_validates():
    frame = empty_plan()
    assert list(frame.columns) == [c.name for c in PLAN_TABLE]
    assert {c.name: str(frame[c.name].dtype) for c in PLAN_TABLE} == {c.name: c.dtype for c in PLAN_TABLE}
    plan_schema().validate(frame)  # an empty table of the right dtypes passes


def test_the_schema_checks_exactly_the_validated_columns_with_their_nullability():
    schema = plan_schema()
    validated = {c.name: c for c in PLAN_TABLE if c.validated}
    assert set(schema.columns) == set(validated)
    for name, column in schema.columns.items():
        assert column.nullable == validated[name].nullable, name
    assert not schema.columns["project_name"].nullable and schema.columns["project_code"].nullable
