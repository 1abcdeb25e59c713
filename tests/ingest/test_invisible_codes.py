"""Code cells of spaces or zero-width characters only are no code; zero-width characters are
dropped from real codes. The column-wide shortcut (no zero-width character anywhere: a cell
is invisible exactly when it is whitespace) gives what the cell-by-cell rule gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from disbursement.ingest.normalize import INVISIBLE, ZERO_WIDTH, _clear_invisible_codes


def _cell_by_cell(codes: list[str], raw: list) -> tuple[list[str], list[int]]:
    codes, cleared = list(codes), []
    for i, (value, code) in enumerate(zip(raw, codes, strict=True)):
        if isinstance(value, str) and value and not INVISIBLE.sub("", value):
            codes[i] = ""
            cleared.append(i)
        elif code and ZERO_WIDTH.search(code):
            codes[i] = ZERO_WIDTH.sub("", code).strip()
    return codes, cleared


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
    expected = _cell_by_cell(codes, raw)
    texts = {"project_code": list(codes)}
    cleared = _clear_invisible_codes(texts, raw)
    assert (texts["project_code"], cleared) == expected
