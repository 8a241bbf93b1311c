"""The lineage page of a version or a run: the graph around it, up to a chosen depth."""

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from registry.errors import InvalidInput, RegistryError
from registry.services.lineage import lineage
from registry.views import lineage_public
from registry.web import graph
from registry.web.forms import MAX_DEPTH, parse_depth
from registry.web.rendering import render

DIRECTIONS = ("both", "upstream", "downstream")
# More nodes than a page can show legibly; the page says when the walk stopped early.
MAX_NODES = 400


def lineage_response(
    request: Request,
    session: Session,
    root: tuple[str, int],
    *,
    title: str,
    back_url: str,
    direction: str,
    depth: str,
) -> HTMLResponse:
    form = {"direction": direction, "depth": depth}
    layout = None
    truncated = False
    error = None
    try:
        if direction not in DIRECTIONS:
            raise InvalidInput(
                f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}"
            )
        walked = lineage(session, root, direction, parse_depth(depth), MAX_NODES)  # type: ignore[arg-type]
        public = lineage_public(session, root, walked)
        layout, truncated = graph.layout(public), public.truncated
    except RegistryError as exc:
        error = exc.message
    return render(
        request,
        "lineage.html",
        status_code=422 if error else 200,
        title=title,
        back_url=back_url,
        form=form,
        directions=DIRECTIONS,
        max_depth=MAX_DEPTH,
        layout=layout,
        truncated=truncated,
        max_nodes=MAX_NODES,
        node_width=graph.NODE_WIDTH,
        node_height=graph.NODE_HEIGHT,
        error=error,
    )
