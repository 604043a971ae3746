#!/usr/bin/env python3
"""Validate custom resources (Istio, Linkerd, Gatekeeper) against strict JSON Schemas.

Usage: validate-crs.py SCHEMA_DIR FILE...

SCHEMA_DIR holds `<group>/<kind>_<version>.json` (the layout of ../shared/schemas/crds).
Gatekeeper Constraints have no static schema: theirs is built from the matching
ConstraintTemplate among FILE (its openAPIV3Schema as spec.parameters) plus
`constraints.gatekeeper.sh/_match.json` as spec.match. Files are read with PyYAML, a
YAML 1.1 reader like kubectl's, so a misquoted scalar shows up as a type error.
Exits 1 if any object fails or has no schema.
"""
import json
import os
import sys

import yaml
from jsonschema import Draft7Validator


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def main():
    schema_dir, files = sys.argv[1], sys.argv[2:]
    docs = [(p, d) for p in files for d in load_docs(p)]
    templates = {}
    for _, d in docs:
        if d.get("kind") == "ConstraintTemplate":
            kind = d["spec"]["crd"]["spec"]["names"]["kind"]
            templates[kind] = d["spec"]["crd"]["spec"].get("validation", {}).get("openAPIV3Schema", {"type": "object"})
    failures = 0
    checked = 0
    for path, d in docs:
        group, _, version = d.get("apiVersion", "").rpartition("/")
        kind = d.get("kind", "")
        if group == "constraints.gatekeeper.sh":
            if kind not in templates:
                print(f"{path}: {kind}: no ConstraintTemplate defines this kind")
                failures += 1
                continue
            with open(os.path.join(schema_dir, group, "_match.json"), encoding="utf-8") as f:
                match = json.load(f)
            schema = {
                "type": "object",
                "required": ["apiVersion", "kind", "metadata", "spec"],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                    "spec": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "match": match,
                            "parameters": templates[kind],
                            "enforcementAction": {"type": "string", "enum": ["deny", "dryrun", "warn", "scoped"]},
                        },
                    },
                },
            }
        else:
            schema_path = os.path.join(schema_dir, group, f"{kind.lower()}_{version}.json")
            if not os.path.isfile(schema_path):
                print(f"{path}: {d.get('apiVersion')} {kind}: no schema at {schema_path}")
                failures += 1
                continue
            with open(schema_path, encoding="utf-8") as f:
                schema = json.load(f)
            # The API server checks ObjectMeta itself; a CRD may restrict only
            # `name` and `generateName`, so annotations are never unknown fields.
            meta = schema.get("properties", {}).get("metadata")
            if isinstance(meta, dict):
                meta.pop("additionalProperties", None)
        errors = sorted(Draft7Validator(schema).iter_errors(d), key=lambda e: list(e.path))
        checked += 1
        for e in errors:
            where = ".".join(str(p) for p in e.path) or "(root)"
            print(f"{path}: {kind} {d.get('metadata', {}).get('name')}: {where}: {e.message}")
            failures += 1
    print(f"validate-crs: {checked} objects checked, {failures} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
