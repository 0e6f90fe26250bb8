#!/usr/bin/env python3
"""Sum the samples of one metric in Prometheus text format read from stdin.
usage: metric.py NAME [key="value" ...]   (each matcher must be present in the label set)"""
import re
import sys

name, matchers = sys.argv[1], sys.argv[2:]
total, seen = 0.0, False
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)')
for line in sys.stdin:
    if line.startswith('#'):
        continue
    m = line_re.match(line)
    if not m or m.group(1) != name:
        continue
    labels = m.group(3) or ''
    if all(x in labels for x in matchers):
        total += float(m.group(4))
        seen = True
print(repr(total) if total != int(total) else int(total))
