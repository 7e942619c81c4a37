#!/usr/bin/env python3
"""The contract check of `make test`: every event the test run emitted (one CloudEvent a line,
collected through SENSORGATE_EMITTED_EVENTS) must validate against the JSON Schema its
`dataschema` names, from the published files under schemas/events/.

Strict on our side: a schema itself allows properties it does not list (consumers must tolerate
additive changes), but here every object the schema describes must declare every property the
gateway sends (`unevaluatedProperties: false` is added), so a field added without its schema
fails CI as surely as one renamed or retyped.

Usage: validate_events.py --schemas schemas/events EMITTED.jsonl"""

import argparse
import collections
import copy
import glob
import json
import os
import sys

import jsonschema


def strict(schema):
    """The schema with `unevaluatedProperties: false` on every object that lists properties."""
    s = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if "properties" in node:
                node.setdefault("unevaluatedProperties", False)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(s)
    return s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--schemas", required=True)
    parser.add_argument("--min-events", type=int, default=1)
    parser.add_argument("emitted")
    args = parser.parse_args()

    validators = {}
    for path in sorted(glob.glob(os.path.join(args.schemas, "v*", "*.json"))):
        with open(path) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[schema["$id"]] = (path, jsonschema.Draft202012Validator(strict(schema)))
    if not validators:
        sys.exit(f"no schemas under {args.schemas}")

    counts = collections.Counter()
    failures = collections.defaultdict(list)
    total = 0
    try:
        f = open(args.emitted, encoding="utf-8")
    except FileNotFoundError:
        sys.exit(f"{args.emitted}: no events were collected (is SENSORGATE_EMITTED_EVENTS set for the test run?)")
    with f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            total += 1
            try:
                event = json.loads(line)
            except ValueError as e:
                failures["(not JSON)"].append(f"line {number}: {e}: {line[:200]}")
                continue
            uri = event.get("dataschema") if isinstance(event, dict) else None
            if uri not in validators:
                failures[str(event.get("type") if isinstance(event, dict) else "?")].append(
                    f"line {number}: dataschema {uri!r} names no published schema: {line[:200]}")
                continue
            counts[uri] += 1
            errors = sorted(validators[uri][1].iter_errors(event), key=lambda e: list(e.path))
            if errors:
                where = "/".join(str(p) for p in errors[0].path) or "(event)"
                failures[uri].append(f"line {number}: {where}: {errors[0].message}: {line[:300]}")

    for uri, (path, _) in validators.items():
        note = "" if counts[uri] else "  (none emitted by the tests)"
        print(f"  {counts[uri]:>9}  {uri}  {path}{note}")
    bad = sum(len(v) for v in failures.values())
    for uri, lines in failures.items():
        print(f"\n{len(lines)} event(s) break {uri}:", file=sys.stderr)
        for text in lines[:5]:
            print(f"  {text}", file=sys.stderr)
    print(f"contract: {total} emitted event(s) checked against {len(validators)} schema(s): {total - bad} valid, {bad} invalid")
    if bad or total < args.min_events:
        if total < args.min_events:
            print(f"contract: only {total} event(s) collected, expected at least {args.min_events}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
