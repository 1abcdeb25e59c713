"""Code cells of spaces or zero-width characters only are no code; zero-width characters are
dropped from real codes. The column-wide shortcut (no zero-width character anywhere: a cell
is invisible exactly when it is whitespace) gives what the cell-by-cell rule gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from disbursement.ingest.normalize import _clear_cell_by_cell, _clear_invisible_codes

cell = st.one_of(
    st.text(alphabet=[" ", "\t", "\n", "\u00a0", "\u3000", "\u2003", "A", "1", "-"], max_size=5),
    st.text(alphabet=[" ", "\u200b", "\ufeff", "\u2060", "B", "\u00a0"], max_size=5),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(cell, max_size=12))
def test_the_shortcut_clears_what_the_cell_by_cell_rule_clears(raw):
    codes = ["" if not isinstance(v, str) else v.strip() for v in raw]
    slow = list(codes)
    expected = _clear_cell_by_cell(slow, raw)
    texts = {"project_code": list(codes)}
    cleared = _clear_invisible_codes(texts, raw)
    assert (texts["project_code"], cleared) == (slow, expected)
