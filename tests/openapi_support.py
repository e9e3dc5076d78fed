"""Validating JSON against a schema of the OpenAPI document (JSON Schema 2020-12, formats
checked), with objects closed: a key the schema does not list is an error, so a stale or
misspelt field in an example or an answer is caught."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs


def _closed(components: dict[str, Any]) -> dict[str, Any]:
    closed = copy.deepcopy(components)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(closed)
    return closed


def validator_for(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """A validator for `schema` (usually `{"$ref": "#/components/schemas/X"}`) of `document`."""
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": _closed(document["components"]),
        **schema,
    }
    return jsonschema_rs.Draft202012Validator(root, validate_formats=True)


def errors_of(validator: jsonschema_rs.Validator, instance: Any) -> list[str]:
    return [str(error).splitlines()[0] for error in validator.iter_errors(instance)]
