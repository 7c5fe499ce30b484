#!/bin/sh
# report_browser.sh HTML PNG: opens a report in headless Chromium, takes a screenshot into PNG
# and checks that the page logged nothing to its console (no script error, no failed load)
# and that the screenshot is not blank (python3, from Debian's base system, decodes it).
# Exit 0 when both hold, 1 when not (the reason printed), 77 when chromium or python3 is
# missing. About 3 s.
html=$1
png=$2
command -v chromium >/dev/null 2>&1 || { echo "chromium not installed"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
profile=$(mktemp -d)
log=$profile/chromium.log
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 --hide-scrollbars \
    --window-size=1180,2400 --screenshot="$png" "file://$(realpath "$html")" >"$log" 2>&1
rc=$?
if [ $rc -ne 0 ] || [ ! -s "$png" ]; then
    echo "chromium failed (exit $rc):"
    tail -5 "$log"
    rm -rf "$profile"
    exit 1
fi
if grep -q ':CONSOLE' "$log"; then
    echo "the page logged to its console:"
    grep ':CONSOLE' "$log" | head -5
    rm -rf "$profile"
    exit 1
fi
rm -rf "$profile"
python3 - "$png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width, height = 8, b"", 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height = struct.unpack(">II", body[:8])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
# sample rows: a blank page is one colour; a report has text, charts and colours
values = set()
stride = len(raw) // height
for y in range(0, height, 7):
    row = raw[y * stride + 1:(y + 1) * stride]
    values.update(row[i:i + 3] for i in range(0, len(row) - 3, 12))
print("screenshot %dx%d, %d distinct sampled colours" % (width, height, len(values)))
sys.exit(0 if len(values) > 50 else 1)
PY
