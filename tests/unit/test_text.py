import pytest

from functions.shared.text import plain_line, plain_paragraphs


@pytest.mark.parametrize("text", ["华为 Mate 60 Pro", "Nescafé 1+2", "Café & Co.", "100% cotton, size: M/L"])
def test_ordinary_names_are_kept(text):
    assert plain_line(f"  {text} ") == text


@pytest.mark.parametrize(
    "text",
    ["<script>x</script>", "a\u202eb", "zero\u200bwidth", "bell\x07", "line\nbreak", "private\ue000", "tab\tbed"],
)
def test_markup_invisible_and_control_characters_are_refused_in_a_line(text):
    with pytest.raises(ValueError):
        plain_line(text)


def test_paragraphs_may_have_newlines_and_tabs_but_nothing_else_invisible():
    assert plain_paragraphs("第一段\n\tSecond paragraph") == "第一段\n\tSecond paragraph"
    with pytest.raises(ValueError):
        plain_paragraphs("hidden\u200dtext")
