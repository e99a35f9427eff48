"""Every text colour of the status page's stylesheet against the background it is drawn on
meets WCAG AA (4.5:1 for text, 3:1 for the chart's bars)."""

from __future__ import annotations

import re
from importlib import resources

import pytest

CSS = resources.files("watcher.web.pages").joinpath("static", "page.css").read_text()
VARIABLES = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", CSS))


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(one: str, other: str) -> float:
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _rules() -> list[tuple[str, dict[str, str]]]:
    body = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    rules = []
    for selector, block in re.findall(r"([^{}]+)\{([^{}]*)\}", body):
        declarations = dict(re.findall(r"([\w-]+)\s*:\s*var\(--([\w-]+)\)", block))
        rules.append((selector.strip(), declarations))
    return rules


def _pairs() -> list[tuple[str, str, str]]:
    """(where, text colour, background) for every rule that sets both, and links on every
    background a link can sit on."""
    pairs = [(selector, d["color"], d["background"]) for selector, d in _rules()
             if "color" in d and "background" in d]
    pairs += [("a on " + bg, "link", bg) for bg in ("page", "panel")]
    return pairs


def test_known_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_every_colour_is_a_variable_the_test_can_read() -> None:
    literal = re.findall(r"(?<!--)[\w-]+:\s*#[0-9a-fA-F]{3,8}", CSS.split("}", 1)[1])
    assert literal == []
    assert len(_pairs()) >= 10


@pytest.mark.parametrize(("where", "text", "background"), _pairs())
def test_text_contrast(where: str, text: str, background: str) -> None:
    ratio = contrast(VARIABLES[text], VARIABLES[background])
    assert ratio >= 4.5, f"{where}: --{text} on --{background} is {ratio:.2f}:1"


@pytest.mark.parametrize("fill", ["rebuild", "newer", "failing", "line"])
def test_chart_graphics_contrast(fill: str) -> None:
    minimum = 1.4 if fill == "line" else 3.0  # the axis is decoration
    assert contrast(VARIABLES[fill], VARIABLES["page"]) >= minimum
