"""The roadmap mind map as an SVG image, each node coloured by the learner's mastery.

The layout is a left-right mind map: the roadmap in the middle, branches on both sides
and each branch's topics on their own rows further out. Colours use the same thresholds as the
terminal map (:func:`mastery_level`). The result is a standalone SVG document (a string);
the CLI writes it to a file.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from learnbackend.roadmap.mastery import BranchMastery

#: Mastery level → (fill, label). Known ≥ 80 %, learning ≥ 40 %, started > 0 %, else not yet.
COLOURS = {
    "known": ("#2e9d57", "known (80% or more)"),
    "learning": ("#e0a526", "learning (40-79%)"),
    "started": ("#d9534f", "started (under 40%)"),
    "unseen": ("#b8bec6", "not started"),
}
WIDTH = 1600
ROW = 32  # vertical space per topic
BRANCH_DX = 330  # root centre → branch centre
TOPIC_DX = 500  # root centre → topic label
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def mastery_level(percent: int) -> str:
    """The colour class of a percentage, as in the terminal map's bars."""
    if percent >= 80:
        return "known"
    if percent >= 40:
        return "learning"
    if percent > 0:
        return "started"
    return "unseen"


def _node(kind: str, node_id: str, x: float, y: float, label: str, percent: int, *, anchor: str = "middle",
          size: int = 15) -> str:
    level = mastery_level(percent)
    fill = COLOURS[level][0]
    text = f"{label} {percent}%"
    width = 16 + len(text) * size * 0.62
    left = {"middle": x - width / 2, "start": x - 8, "end": x - width + 8}[anchor]
    text_x = {"middle": x, "start": x, "end": x}[anchor]
    return (
        f"<g class={quoteattr('node ' + kind)} id={quoteattr(node_id)} data-label={quoteattr(label)} "
        f"data-percent='{percent}' data-mastery='{level}'>"
        f"<rect x='{left:.1f}' y='{y - size:.1f}' width='{width:.1f}' height='{size * 2:.1f}' rx='{size * 0.6:.1f}' "
        f"fill='{fill}' stroke='#3a3f45' stroke-width='1'/>"
        f"<text x='{text_x:.1f}' y='{y + size * 0.35:.1f}' text-anchor='{anchor}' font-size='{size}' {FONT} "
        f"fill='#111'>{escape(text)}</text></g>"
    )


def _slug(text: str) -> str:
    """An XML id fragment: 'C#' → 'csharp', 'JavaScript/Node.js' → 'javascript-node-js'."""
    text = text.casefold().replace("#", "sharp").replace("+", "plus")
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text).split())


def _sides(branches: list[BranchMastery]) -> tuple[list[BranchMastery], list[BranchMastery]]:
    """Branches split between the right and the left, in order, balancing their topic counts."""
    right: list[BranchMastery] = []
    left: list[BranchMastery] = []
    for branch in branches:
        side = right if sum(len(b.topics) for b in right) <= sum(len(b.topics) for b in left) else left
        side.append(branch)
    return right, left


def _curve(x1: float, y1: float, x2: float, y2: float, width: float, colour: str) -> str:
    mid = (x1 + x2) / 2
    return (f"<path d='M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}' "
            f"fill='none' stroke='{colour}' stroke-width='{width}'/>")


def mind_map_svg(branches: list[BranchMastery]) -> str:
    """A standalone SVG document of the mind map with mastery colours and a legend.

    The root is in the middle; branches go right and left, each with its topics stacked
    on their own rows further out, so no two labels can overlap.
    """
    right, left = _sides(branches)
    rows = max((sum(len(b.topics) + 1 for b in side) for side in (right, left)), default=1)
    top = 170
    height = int(top + rows * ROW + 60)
    cx, cy = WIDTH / 2, top + rows * ROW / 2
    overall = round(sum(b.percent for b in branches) / len(branches)) if branches else 0
    links: list[str] = []
    nodes: list[str] = []
    for side, sign in ((right, 1), (left, -1)):
        used = sum(len(b.topics) + 1 for b in side) - 1
        y = cy - used * ROW / 2
        for branch in side:
            ys = [y + k * ROW for k in range(len(branch.topics))] or [y]
            bx, by = cx + sign * BRANCH_DX, sum(ys) / len(ys)
            links.append(_curve(cx, cy, bx, by, 3, "#6c757d"))
            for topic, ty in zip(branch.topics, ys, strict=False):
                tx = cx + sign * TOPIC_DX
                links.append(_curve(bx, by, tx, ty, 1.5, "#adb5bd"))
                label = f"{topic.name} ({topic.known}/{topic.total})"
                nodes.append(_node("topic", f"topic-{_slug(branch.lesson_id)}-{_slug(topic.name)}", tx, ty, label,
                                   topic.percent, anchor="start" if sign > 0 else "end", size=13))
            suffix = " (placed out)" if branch.placed_out else ""
            nodes.append(_node("branch", f"branch-{_slug(branch.lesson_id)}", bx, by, branch.title + suffix,
                               branch.percent, size=17))
            y += (len(branch.topics) + 1) * ROW
    nodes.append(_node("root", "root", cx, cy, "Backend roadmap", overall, size=20))
    legend = [f"<text x='30' y='40' font-size='22' font-weight='bold' {FONT}>Backend roadmap: your mastery</text>"]
    for k, (level, (fill, text)) in enumerate(COLOURS.items()):
        ly = 75 + k * 24
        legend.append(f"<g class='legend' data-mastery='{level}'><rect x='30' y='{ly - 14}' width='18' height='18' rx='4' "
                      f"fill='{fill}' stroke='#3a3f45'/><text x='56' y='{ly}' font-size='15' {FONT}>{escape(text)}</text></g>")
    body = "\n".join(["<rect width='100%' height='100%' fill='#ffffff'/>", *legend, *links, *nodes])
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' viewBox='0 0 {WIDTH} {height}'>\n"
        "<title>Backend roadmap mastery map</title>\n"
        f"{body}\n</svg>\n"
    )
