"""The activation path of a recall hit, drawn as a small left-to-right graph in inline SVG.

A hit's path (docs/cli.md, "recall") says how recall reached the memory: the query's own terms
(`via` text), or a chain such as term -> memory -> concept (`via` concept), term -> memory -> link
(a learned link) or term -> relation. Here it becomes layers of nodes, each layer linked to the
next, ending at the memory found. Drawn on the server so the page needs no script to show it; the
colours live in the stylesheet (classes, no inline styles: the page's CSP allows none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from neuralmemory.core.models import Hit

NODE_W, NODE_H = 168, 30
COLUMN_W = 214  # a node and the room for its edges
ROW_H = 40
PAD = 4
CAPTION_H = 18
LABEL_CHARS = 22  # what fits in a node at the stylesheet's font size
#: the caption over a layer, by the kind of its first node
CAPTIONS = {
    "term": "query",
    "text": "query",
    "memory": "via memory",
    "concept": "concept",
    "relation": "relation",
    "link": "learned link",
    "hit": "found",
}


@dataclass(frozen=True)
class Node:
    kind: str  # term, text, memory, concept, relation, link, hit
    label: str
    title: str  # the whole text, shown on hover
    href: str | None = None


def layers(hit: Hit, previews: Mapping[str, str]) -> list[list[Node]]:
    """The hit's path as layers: all the matched terms first, for a hit by its own words; else
    one step per layer. `previews`: memory id -> the text of each memory along the path."""
    found = hit.memory
    text = found.content if found.content is not None else "(encrypted)"
    end = Node("hit", text, f"{found.id}: {text}", f"/memories/{found.id}")
    steps = [_node(step, previews) for step in hit.path]
    if hit.via == "text":
        return [steps, [end]]
    return [[step] for step in steps] + [[end]]


def _node(step: str, previews: Mapping[str, str]) -> Node:
    kind, _, name = step.partition(":")
    if kind == "memory":
        text = previews.get(name, name)
        return Node("memory", text, f"{name}: {text}", f"/memories/{name}")
    if kind == "text":
        return Node("text", "the query's words", "matched by the words of the query")
    if kind == "link":
        return Node("link", "learned link", "recalled together before (a learned link)")
    label = name.replace("_", " ") if kind == "relation" else name
    return Node(kind, label, f"{kind}: {name}")


def svg(graph: Sequence[Sequence[Node]], *, label: str) -> Markup:
    """The layers drawn left to right, each node joined to every node of the next layer. Every
    piece is a Markup template whose values are escaped as they are filled in."""
    rows = max(len(layer) for layer in graph)
    spots = _spots(graph, rows)
    parts = [
        Markup(
            '<svg class="path" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}"'
            ' xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
        ).format(
            w=(len(graph) - 1) * COLUMN_W + NODE_W + 2 * PAD,
            h=CAPTION_H + rows * ROW_H + PAD,
            label=label,
        )
    ]
    for n in range(len(graph) - 1):
        for x1, y1 in spots[n]:
            for x2, y2 in spots[n + 1]:
                parts.append(_edge(x1 + NODE_W, y1, x2, y2))
    for n, layer in enumerate(graph):
        kind = layer[0].kind
        parts.append(
            Markup('<text class="caption" x="{x:g}" y="12">{caption}</text>').format(
                x=PAD + n * COLUMN_W + NODE_W / 2, caption=CAPTIONS.get(kind, kind)
            )
        )
        parts += [_box(node, x, y) for node, (x, y) in zip(layer, spots[n], strict=True)]
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _spots(graph: Sequence[Sequence[Node]], rows: int) -> list[list[tuple[float, float]]]:
    """Each node's left edge and vertical centre: a layer is centred on the tallest one."""
    return [
        [
            (PAD + n * COLUMN_W, CAPTION_H + (rows - len(layer)) * ROW_H / 2 + (i + 0.5) * ROW_H)
            for i in range(len(layer))
        ]
        for n, layer in enumerate(graph)
    ]


def _edge(x1: float, y1: float, x2: float, y2: float) -> Markup:
    bend = (x2 - x1) / 2
    return Markup(
        '<path class="edge" d="M{x1:g},{y1:g} C{b1:g},{y1:g} {b2:g},{y2:g} {end:g},{y2:g}"/>'
        '<path class="arrow" d="M{back:g},{up:g} L{x2:g},{y2:g} L{back:g},{down:g}"/>'
    ).format(
        x1=x1,
        y1=y1,
        x2=x2,
        y2=y2,
        b1=x1 + bend,
        b2=x2 - bend,
        end=x2 - 6,
        back=x2 - 7,
        up=y2 - 4,
        down=y2 + 4,
    )


def _box(node: Node, x: float, y: float) -> Markup:
    text = node.label if len(node.label) <= LABEL_CHARS else node.label[: LABEL_CHARS - 1] + "…"
    shape = Markup(
        '<g class="node {kind}"><title>{title}</title>'
        '<rect x="{x:g}" y="{top:g}" width="{w}" height="{h}" rx="7"/>'
        '<text x="{middle:g}" y="{base:g}">{text}</text></g>'
    ).format(
        kind=node.kind,
        title=node.title,
        x=x,
        top=y - NODE_H / 2,
        w=NODE_W,
        h=NODE_H,
        middle=x + NODE_W / 2,
        base=y + 4,
        text=text,
    )
    if node.href is None:
        return shape
    return Markup('<a href="{href}">{shape}</a>').format(href=node.href, shape=shape)
