#!/usr/bin/env python3
"""Validate profile files against `kharden schema` with a third-party JSON Schema
validator, as an editor would. Usage: validate-profile-schema.py SCHEMA.json PROFILE...

YAML is read as YAML 1.2 editors read it: dates stay strings (PyYAML's YAML 1.1
timestamp rule is turned off). Exits 1 on any error."""
import json
import sys

import yaml
from jsonschema import Draft202012Validator


class Loader(yaml.SafeLoader):
    pass


Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    bad = 0
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=Loader)
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
            print(f"{path}: {'.'.join(str(p) for p in e.path) or '(root)'}: {e.message}")
            bad += 1
    print(f"validate-profile-schema: {len(sys.argv) - 2} profiles, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
