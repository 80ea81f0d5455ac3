#!/usr/bin/env python3
"""The workspace's rust-version is the true minimum: no locked dependency asks for a newer one.

Only one toolchain can be installed here, so the minimum is checked from what every resolved
package declares (`cargo metadata`), not by building with an older compiler.
"""
import json, subprocess, sys

meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--locked",
     "--filter-platform", "x86_64-unknown-linux-gnu"]))
ids = {n["id"] for n in meta["resolve"]["nodes"]}
def version(v):
    return tuple(int(x) for x in v.split("."))[:3] + (0,) * (3 - len(v.split(".")))
ours = next(p["rust_version"] for p in meta["packages"] if p["name"] == "syncd")
if not ours:
    sys.exit("the syncd package states no rust-version")
needs = sorted(
    ((version(p["rust_version"]), p["name"], p["version"]) for p in meta["packages"]
     if p["id"] in ids and p["id"] not in meta["workspace_members"] and p.get("rust_version")),
    reverse=True)
top = needs[0]
if top[0] > version(ours):
    sys.exit(f"rust-version {ours} is too low: {top[1]} {top[2]} needs {'.'.join(map(str, top[0]))}")
print(f"rust-version {ours} covers every dependency (highest: {top[1]} {top[2]} needs {'.'.join(map(str, top[0]))})")
