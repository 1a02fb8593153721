#!/usr/bin/env python3
"""Resolves merge conflicts in PublicAPI.*.txt files by keeping every line of both sides."""
import subprocess, sys
files = subprocess.run(["git", "diff", "--name-only", "--diff-filter=U"], capture_output=True, text=True).stdout.split()
for path in (f for f in files if f.endswith(("PublicAPI.Unshipped.txt", "PublicAPI.Shipped.txt"))):
    lines = [l for l in open(path).read().splitlines() if not l.startswith(("<<<<<<<", "=======", ">>>>>>>"))]
    body = sorted(set(l for l in lines if l and not l.startswith("#nullable")))
    open(path, "w").write("#nullable enable\n" + "\n".join(body) + "\n")
    subprocess.run(["git", "add", path], check=True)
    print("resolved", path)
