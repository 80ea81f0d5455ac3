#!/usr/bin/env bash
# Every figure of README's "How fast, measured", in one run: each benchmark in turn (their own
# output as they go), then one table of the figures they printed as JSON lines, syncd beside the
# Python baseline where the benchmark runs one. Environment knobs pass through (for example
# SYNCD_BENCH_POSITIONS for end_to_end, SYNCD_SOAK_SECS for the soak).
#
#   benches/suite.sh                 # all of them
#   benches/suite.sh soak pim_catalog
set -euo pipefail
cd "$(dirname "$0")/.."

benches=("$@")
if [ ${#benches[@]} -eq 0 ]; then
    benches=(end_to_end fluent_reconcile salesforce_read shiphero_sync pim_catalog webhook_latency soak)
fi

figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
for bench in "${benches[@]}"; do
    echo "== cargo bench --bench $bench" >&2
    cargo bench --bench "$bench" | while IFS= read -r line; do
        printf '%s\n' "$line" >&2
        case "$line" in
            '{'*) printf '%s\t%s\n' "$bench" "$line" >> "$figures" ;;
        esac
    done
done

python3 - "$figures" <<'PY'
import json, sys

def num(v):
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)

def pick(fig, prefix):
    # `syncd_s` before `syncd_fifth_s`: the figure's own value is the one with a bare unit.
    found = [(k[len(prefix):], v) for k, v in fig.items()
             if k.startswith(prefix) and isinstance(v, (int, float))]
    found.sort(key=lambda kv: "_" in kv[0])
    return found[0] if found else (None, None)

rows = []
for line in open(sys.argv[1]):
    bench, text = line.rstrip("\n").split("\t", 1)
    try:
        fig = json.loads(text)
    except ValueError:
        continue
    if "figure" not in fig:
        continue
    unit, ours = pick(fig, "syncd_")
    _, python = pick(fig, "python_")
    ratio = ""
    if ours is not None and python:
        # Times: Python ÷ syncd (above 1x, syncd is faster); sizes: syncd ÷ Python.
        if unit in ("s", "ms"):
            ratio = f"{python / ours:.1f}x" if ours else ""
        else:
            ratio = f"{ours / python:.2f}x"
    details = ", ".join(
        f"{k} {num(v)}" for k, v in fig.items()
        if k not in ("bench", "figure") and (k, v) != ("syncd_" + (unit or ""), ours)
        and not k.startswith("python_")
    )
    rows.append((bench, fig["figure"], f"{num(ours)} {unit}" if ours is not None else "",
                 f"{num(python)} {unit}" if python is not None else "—", ratio or "—", details))

print("| bench | figure | syncd | Python baseline | ratio | details |")
print("|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
PY
