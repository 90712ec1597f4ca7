"""The activation path as a graph: the layers a hit's path makes, and the SVG drawn from them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from neuralmemory.core.models import Hit, Memory
from neuralmemory.ui.graph import Node, layers, svg

SVG = "{http://www.w3.org/2000/svg}"


def hit(path: list[str], via: str, content: str | None = "Project Falcon uses Kafka.") -> Hit:
    memory = Memory("m-2", content, content is None, "fact", [], 5, 0, None, None, 0.5, 0)
    return Hit(memory, 0.8, path, via)


def kinds(graph: list[list[Node]]) -> list[list[str]]:
    return [[node.kind for node in layer] for layer in graph]


def test_a_hit_by_its_own_words_fans_the_matched_terms_into_it() -> None:
    graph = layers(hit(["term:falcon", "term:kafka"], "text"), {})
    assert kinds(graph) == [["term", "term"], ["hit"]]
    assert [node.label for node in graph[0]] == ["falcon", "kafka"]
    assert graph[1][0].href == "/memories/m-2"


def test_a_hit_through_a_concept_is_a_chain_through_the_memory_that_passed_it_on() -> None:
    path = ["term:alice", "memory:m-1", "concept:project falcon"]
    graph = layers(hit(path, "concept"), {"m-1": "Alice Moreno leads Project Falcon."})
    assert kinds(graph) == [["term"], ["memory"], ["concept"], ["hit"]]
    assert graph[1][0].label == "Alice Moreno leads Project Falcon."
    assert graph[1][0].href == "/memories/m-1"
    links = layers(hit(["term:alice", "memory:m-9", "link"], "link"), {})
    assert kinds(links) == [["term"], ["memory"], ["link"], ["hit"]]
    assert links[1][0].label == "m-9"  # a memory this device no longer holds: its id
    relation = layers(hit(["term:outage", "relation:caused_by"], "relation"), {})
    assert [node.label for node in relation[1]] == ["caused by"]


def test_the_svg_joins_every_node_to_the_next_layer_and_escapes_every_text() -> None:
    graph = [
        [Node("term", "a<b", "t1"), Node("term", "c&d", "t2"), Node("term", "e", "t3")],
        [Node("hit", '"quoted" <script>', "x", "/memories/m-1")],
    ]
    drawn = svg(graph, label="How recall reached <m-1>")
    root = ET.fromstring(str(drawn))  # well-formed XML, so nothing in it was taken as markup
    edges = root.findall(f".//{SVG}path[@class='edge']")
    assert len(edges) == 3
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["query", "a<b", "c&d", "e", "found", '"quoted" <script>']
    assert root.find(f"{SVG}title") is not None
    assert "<script>" not in str(drawn)


def test_long_labels_are_cut_with_the_whole_text_on_hover() -> None:
    long = "A memory whose text is much longer than any node of the graph"
    root = ET.fromstring(str(svg([[Node("hit", long, long)]], label="x")))
    (node,) = root.iter(f"{SVG}g")
    assert node.find(f"{SVG}text").text.endswith("…")  # type: ignore[union-attr]
    assert node.find(f"{SVG}title").text == long  # type: ignore[union-attr]
