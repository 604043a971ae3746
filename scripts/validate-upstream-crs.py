#!/usr/bin/env python3
"""Validate objects against the upstream CRDs that define their kinds.

Usage: validate-upstream-crs.py CRD_DIR FILE...

CRD_DIR holds CustomResourceDefinition YAML as projects publish it (e.g.
tests/data/crds-upstream/gateway-api). Each object of FILE (YAML, several
documents allowed; a `kharden verify` scenario's `admission[].object` entries
count too) is checked against `spec.versions[].schema.openAPIV3Schema` of the
CRD for its group, version and kind, made strict: where a schema lists
`properties` and neither sets `additionalProperties` nor preserves unknown
fields, other fields are refused, as the API server prunes or rejects them.
Objects of groups CRD_DIR does not define are skipped; a defined group with an
unknown kind or version fails. Exits 1 on any failure, 2 if nothing was checked.
"""
import copy
import glob
import os
import sys

import yaml
from jsonschema import Draft7Validator


def strict(schema):
    s = copy.deepcopy(schema)

    def walk(node):
        if not isinstance(node, dict):
            return
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for key in ("properties", "patternProperties"):
            for child in node.get(key, {}).values():
                walk(child)
        for key in ("items", "additionalProperties", "not"):
            walk(node.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            for child in node.get(key, []):
                walk(child)

    walk(s)
    # The API server checks metadata itself; the CRD says only `type: object`.
    s.setdefault("properties", {})["metadata"] = {"type": "object"}
    return s


def objects(path):
    with open(path, encoding="utf-8") as f:
        for d in yaml.safe_load_all(f):
            if not isinstance(d, dict):
                continue
            if "admission" in d and "kind" not in d:
                for entry in d.get("admission") or []:
                    if isinstance(entry.get("object"), dict):
                        yield entry["object"]
            else:
                yield d


def main():
    crd_dir, files = sys.argv[1], sys.argv[2:]
    schemas, groups = {}, set()
    for path in sorted(glob.glob(os.path.join(crd_dir, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            crd = yaml.safe_load(f)
        spec = crd["spec"]
        groups.add(spec["group"])
        for v in spec["versions"]:
            if v.get("served", True):
                key = (spec["group"], v["name"], spec["names"]["kind"])
                schemas[key] = strict(v["schema"]["openAPIV3Schema"])
    failures = checked = 0
    for path in files:
        for obj in objects(path):
            group, _, version = obj.get("apiVersion", "").rpartition("/")
            if group not in groups:
                continue
            key = (group, version, obj.get("kind", ""))
            name = f"{path}: {key[2]} {obj.get('metadata', {}).get('name', '?')}"
            if key not in schemas:
                print(f"FAIL {name}: no served CRD version for {key}")
                failures += 1
                continue
            checked += 1
            errors = sorted(Draft7Validator(schemas[key]).iter_errors(obj), key=str)
            for e in errors:
                where = "/".join(str(p) for p in e.absolute_path)
                print(f"FAIL {name}: {where}: {e.message}")
            failures += bool(errors)
    print(f"{checked} objects checked, {failures} failed")
    sys.exit(1 if failures else (2 if checked == 0 else 0))


if __name__ == "__main__":
    main()
