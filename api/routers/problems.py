"""Problem type pages: every problem+json answer's `type` resolves to one of these.

Public and static (no database), so they answer even when Haven cannot reach its database.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import HTMLResponse

from api.problems import PROBLEM_PATH, PROBLEM_TYPE_LIST, PROBLEM_TYPES_BY_SLUG, ProblemType

router = APIRouter(tags=["problems"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main>{body}</main></body></html>
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), body=body))


def _describe(problem: ProblemType) -> str:
    return (
        f"<h1>{escape(problem.title)}</h1>"
        f"<p>HTTP status {problem.status}. Type <code>{escape(problem.uri)}</code>.</p>"
        f"<p>{escape(problem.description)}</p>"
        f'<p><a href="{PROBLEM_PATH}">All problem types</a></p>'
    )


@router.get(
    PROBLEM_PATH,
    response_class=HTMLResponse,
    summary="Every kind of problem Haven answers with",
    description="An HTML page listing the problem types, each linking to its own page.",
)
def list_problems() -> HTMLResponse:
    items = "".join(
        f'<li><a href="{escape(p.uri)}">{escape(p.title)}</a> ({p.status})</li>'
        for p in PROBLEM_TYPE_LIST
    )
    return _page("Haven problem types", f"<h1>Haven problem types</h1><ul>{items}</ul>")


@router.get(
    PROBLEM_PATH + "/{slug}",
    response_class=HTMLResponse,
    summary="What one kind of problem means and what to do about it",
    description="The page a problem+json answer's `type` points to.",
    responses={404: {"description": "No such problem type"}},
)
def get_problem(
    slug: Annotated[str, Path(description="The problem type's name, e.g. `not-found`.")],
) -> HTMLResponse:
    problem = PROBLEM_TYPES_BY_SLUG.get(slug)
    if problem is None:
        raise HTTPException(404)  # not a record: nothing to audit
    return _page(problem.title, _describe(problem))
