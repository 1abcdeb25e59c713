"""bieu_do.png: a deterministic PNG without date or software stamps."""

from __future__ import annotations

import dataclasses
import struct

from test_render_fixtures import make_large_result, make_result

from disbursement.render.chart import render_chart
from disbursement.render.env import environment


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        out.append((kind, png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def test_chart_is_a_fixed_size_png_without_stamps():
    png = render_chart(make_result(), environment(), "vi")
    found = chunks(png)
    width, height = struct.unpack(">II", found[0][1][:8])
    assert (width, height) == (1400, 1200)
    texts = b"".join(data for kind, data in found if kind in (b"tEXt", b"iTXt", b"zTXt"))
    assert b"Software" not in texts and b"matplotlib" not in texts
    assert b"Creation" not in texts and b"tIME" not in [kind for kind, _ in found]


def test_chart_is_byte_stable_and_copes_with_many_lines_and_no_proposal():
    env = environment()
    assert render_chart(make_result(), env, "vi") == render_chart(make_result(), env, "vi")
    assert render_chart(make_large_result(600), env, "en")
    empty = dataclasses.replace(make_result(), proposal=None)
    assert render_chart(empty, env, "vi")
