"""Schema-driven fuzzing: every operation in /api/schema/, as every role, with wrong types, huge,
negative, non-finite and unicode-digit values in each path, query and body parameter. No answer may be
a 5xx; a refused value is a 4xx JSON answer.

Bounded on purpose (a fixed list of bad values per parameter, one parameter at a time) so the whole
run takes about a minute on two cores.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from annotator.models import Assignment

ROLES = ["alice", "mia", "sam", "ada"]  # annotator, ML staff, supervisor, admin (bob mirrors alice)

# Query strings, path segments and headers carry text.
BAD_TEXT = [
    "²",  # a unicode digit that str.isdigit() accepts and int() refuses
    "١٢",  # Arabic-Indic digits that int() and float() accept
    "99999999999999999999",  # beyond any database integer
    "-1",
    "NaN",
    "inf",
    "1e308",
    "-1e308",
    "1e-320",
    "x" * 300,
]
# JSON bodies carry any type.
BAD_JSON: list[Any] = [
    2**70,
    -1,
    1e308,
    2.5,
    "²",
    {"x": 1},
    ["T2w"],
    None,
    True,
    "x" * 300,
    [2**70],
    ["²"],
]


# Bodies that are not an object at all.
WRONG_BODIES: list[Any] = [[], "x", 2**70, {"x": 1}]


@pytest.fixture
def schema(client_for) -> dict[str, Any]:
    response = client_for("ada").get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.fixture
def world(make_slices, users, client_for):
    """Two slices with an accepted-for-review mask, so detail endpoints reach their deeper code."""
    from annotator.services.maskcodec import encode_mask

    slices = make_slices(2)
    for slice_ in slices:
        Assignment.objects.create(slice=slice_, annotator=users["alice"], assigned_by=users["sam"])
    labels = np.zeros((32, 40), np.uint8)
    labels[5:20, 5:20] = 1
    alice = client_for("alice")
    saved = alice.put(
        f"/api/slices/{slices[0].pk}/mask/",
        data=encode_mask(labels),
        content_type="image/png",
        HTTP_X_BASE_REVISION="",
    )
    assert saved.status_code == 201
    assert alice.post(f"/api/slices/{slices[0].pk}/submit/").status_code == 200
    return slices


def body_properties(schema: dict[str, Any], operation: dict[str, Any]) -> tuple[str | None, list[str]]:
    """(content type to send, names of the body's properties) of an operation."""
    content = operation.get("requestBody", {}).get("content", {})
    for media in ("application/json", "multipart/form-data", "application/x-www-form-urlencoded"):
        if media in content:
            shape = content[media].get("schema", {})
            if "$ref" in shape:
                shape = schema["components"]["schemas"][shape["$ref"].rsplit("/", 1)[-1]]
            return media, list(shape.get("properties", {}))
    return (next(iter(content)) if content else None), []


def send(client, method: str, url: str, media: str | None, data: Any, headers: dict[str, str]):
    if media == "application/json" or data is None:
        payload = json.dumps(data) if data is not None else None
        return client.generic(method.upper(), url, payload or "", content_type="application/json", **headers)
    if media == "multipart/form-data":
        form = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in data.items()}
        return getattr(client, method)(url, form, format="multipart", **headers)
    return client.generic(method.upper(), url, b"\x89PNG\r\n\x1a\nnot really", content_type=media, **headers)


def requests_for(schema: dict[str, Any], slice_id: int):
    """(method, url, content type, body, headers, what) for every bad value of every parameter."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            path_names = [p["name"] for p in params if p["in"] == "path"]

            def url(
                bad_path: dict[str, str] | None = None,
                query: str = "",
                path: str = path,
                names: list[str] = path_names,
            ) -> str:
                filled = path
                for name in names:
                    value = (bad_path or {}).get(name, str(slice_id))
                    filled = filled.replace("{" + name + "}", quote(value, safe=""))
                return filled + query

            media, properties = body_properties(schema, operation)
            for name in path_names:
                for bad in BAD_TEXT:
                    yield method, url({name: bad}), None, None, {}, f"path {name}={bad[:20]!r}"
            for param in params:
                for bad in BAD_TEXT:
                    if param["in"] == "query":
                        query = f"?{quote(param['name'])}={quote(bad)}"
                        yield method, url(query=query), None, None, {}, f"query {param['name']}={bad[:20]!r}"
                    elif param["in"] == "header":
                        header = "HTTP_" + param["name"].upper().replace("-", "_")
                        yield (
                            method,
                            url(),
                            media,
                            None,
                            {header: bad},
                            f"header {param['name']}={bad[:20]!r}",
                        )
            for prop in properties:
                for bad in BAD_JSON:
                    if media == "multipart/form-data" and bad is None:
                        continue
                    yield method, url(), media, {prop: bad}, {}, f"body {prop}={str(bad)[:20]!r}"
            if media and not properties:
                for whole in WRONG_BODIES:
                    yield method, url(), "application/json", whole, {}, f"body {str(whole)[:20]!r}"


@pytest.mark.parametrize("role", ROLES)
def test_no_bad_value_in_any_parameter_gives_a_server_error(schema, world, client_for, role):
    client = client_for(role)
    client.raise_request_exception = False  # a crash is a 500 answer here, as a client would see it
    failures: list[str] = []
    sent = 0
    for method, url, media, data, headers, what in requests_for(schema, world[0].pk):
        sent += 1
        response = send(client, method, url, media, data, headers)
        if response.status_code >= 500:
            failures.append(f"{method.upper()} {url[:80]} ({what}): {response.status_code}")
        elif response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
            assert "detail" in response.json() or response.json(), (method, url, what)
    assert sent > 1000, "the schema lists every endpoint"
    assert not failures, f"{len(failures)} of {sent} requests gave 5xx:\n" + "\n".join(failures[:60])
