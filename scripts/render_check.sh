#!/usr/bin/env bash
# render-check: turn the sample memo into PNG pages for a person to look at.
#
#   scripts/render_check.sh [MEMO.docx]
#
# Default memo: out/demo/to_trinh.docx (made by `make demo`; run here when missing). If the demo
# cannot run, the hand-built example of tests/render/test_render_fixtures.py is rendered instead.
# Writes out/render-check/to_trinh.pdf, page-N.png (memo), and phu_luc.pdf / phu_luc-N.png
# (appendix, when it sits beside the memo). Needs LibreOffice (soffice) and pdftoppm
# (poppler-utils): apt-get install -y libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils
# With chromium installed, also report.png: a screenshot of the report.html beside the memo.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=out/render-check
MEMO=${1:-out/demo/to_trinh.docx}

for tool in soffice pdftoppm; do
  command -v "$tool" >/dev/null || {
    echo "Error: $tool not found; apt-get install -y libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils" >&2
    exit 1
  }
done

if [ ! -f "$MEMO" ] && [ $# -eq 0 ]; then
  make demo >/dev/null 2>&1 || true
fi
if [ ! -f "$MEMO" ] && [ $# -eq 0 ]; then
  echo "note: no demo memo; rendering the test example instead" >&2
  "$PY" - <<'PYEOF'
import sys
sys.path.insert(0, "tests")
from test_render_fixtures import make_result
from disbursement.render import render_outputs
render_outputs(make_result(), "out/render-check/example")
PYEOF
  MEMO=out/render-check/example/to_trinh.docx
fi
[ -f "$MEMO" ] || { echo "Error: $MEMO not found" >&2; exit 1; }

mkdir -p "$OUT"
rm -f "$OUT"/page-*.png "$OUT"/phu_luc-*.png
PROFILE=$(mktemp -d)
trap 'rm -rf "$PROFILE"' EXIT
soffice -env:UserInstallation=file://"$PROFILE" --headless --norestore \
  --convert-to pdf --outdir "$OUT" "$MEMO" >/dev/null 2>&1
pdftoppm -r 80 -png "$OUT/to_trinh.pdf" "$OUT/page"
APPENDIX="$(dirname "$MEMO")/phu_luc.xlsx"
if [ -f "$APPENDIX" ]; then
  soffice -env:UserInstallation=file://"$PROFILE" --headless --norestore \
    --convert-to pdf --outdir "$OUT" "$APPENDIX" >/dev/null 2>&1
  pdftoppm -r 80 -png "$OUT/phu_luc.pdf" "$OUT/phu_luc"
fi
REPORT="$(dirname "$MEMO")/report.html"
rm -f "$OUT/report.png"
if [ -f "$REPORT" ] && command -v chromium >/dev/null; then
  chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-background-networking --user-data-dir="$PROFILE/chromium" \
    --screenshot="$(pwd)/$OUT/report.png" --window-size=1400,2000 \
    "file://$(cd "$(dirname "$REPORT")" && pwd)/report.html" >/dev/null 2>&1
elif [ -f "$REPORT" ]; then
  echo "note: chromium not installed, no report.png (apt-get install chromium)" >&2
fi
ls "$OUT"/*.png
