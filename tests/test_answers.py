"""answer_about on real documents: retrieval routing, citations, the VLM route and the client-sampling route."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from conftest import eval_dir
from mcp import Client
from mcp_types import CreateMessageRequestParams, CreateMessageResult, TextContent
from PIL import Image

from mcp_docvl.config import Settings
from mcp_docvl.engines.base import PageTranscript
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.features.answers import answer_about
from mcp_docvl.mcp.server import build_server


class ScriptedVlm:
    """A stand-in for a vision-language model (no weights can run here): it records what it was shown and
    replies with a fixed text, so the routing and the reply handling around it are tested for real."""

    name = "scripted-vlm"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []
        self.images: list[Sequence[Image.Image]] = []

    def transcribe_page(self, image: Image.Image) -> PageTranscript:
        return PageTranscript()

    def warm(self) -> None:
        pass

    def cache_config(self) -> None:
        return None

    def generate(self, prompt: str, images: Sequence[Image.Image], max_new_tokens: int = 512) -> str:
        self.prompts.append(prompt)
        self.images.append(images)
        return self.reply


@pytest.fixture
def us018() -> str:
    return str(eval_dir("icdar2013") / "us-018.pdf")


# `within`: how many top citations may be searched for the page. Maine's row for 2015-16 stands in two tables (the
# number of graduates on page 2, the percentage change on page 3), with the same terms; BM25 cannot tell "how many"
# from "percentage", so the page holding the number must be among the first two, each cited with its row.
@pytest.mark.parametrize(("question", "page", "within"), [
    ("What is the pupil/teacher ratio in private schools?", 5, 1),
    ("How many new teacher hires were there in public schools?", 4, 1),
    ("How many public high school graduates are projected for Maine in 2015-16?", 2, 2),
    ("What is the projected percentage change in high school graduates in Ohio?", 3, 1),
])
def test_retrieval_cites_the_page_that_holds_the_fact(settings: Settings, us018: str, question: str, page: int,
                                                      within: int):
    result = answer_about(us018, question, settings=settings, engine=OcrEngine())
    assert result.method == "retrieval" and result.answer is None and result.reason
    assert page in [c.page for c in result.citations[:within]]
    assert result.pages_searched == list(range(1, 8))
    assert all(c.text.strip() and c.bbox[2] > c.bbox[0] for c in result.citations)


def test_other_document_cites_its_table_page(settings: Settings):
    path = str(eval_dir("icdar2013") / "eu-005.pdf")
    text = answer_about(path, "Which countries are mentioned?", settings=settings, engine=OcrEngine())
    assert text.citations and {c.page for c in text.citations} <= {1, 2}


def test_empty_questions_are_errors_and_off_topic_ones_get_null(settings: Settings, us018: str):
    for question in ("", "   ", "what is the?"):
        with pytest.raises(InvalidArgument, match="question"):
            answer_about(us018, question, settings=settings, engine=OcrEngine())
    # A question the document does not answer is not the caller's mistake: answer null, with the reason.
    off = answer_about(us018, "Who won the football world cup?", settings=settings, engine=OcrEngine())
    assert off.answer is None and off.citations == [] and "football" in off.reason
    assert off.pages_searched == list(range(1, 8))


def test_vlm_route_sees_top_pages_and_its_citations_are_kept(settings: Settings, us018: str):
    vlm = ScriptedVlm(json.dumps({"answer": "12.5", "passages": [1]}))
    result = answer_about(us018, "What was the pupil/teacher ratio in private schools in 2009?", settings=settings,
                          engine=vlm)
    assert result.method == "vlm" and result.model == "scripted-vlm" and result.answer == "12.5"
    assert result.citations[0].page == 5 and "12.5" in result.citations[0].text
    assert result.confidence == 1.0
    assert 1 <= len(vlm.images[0]) <= 2 and vlm.images[0][0].width > 500
    assert "pupil/teacher" in vlm.prompts[0] and "[1] (page 5)" in vlm.prompts[0]


def test_a_question_the_document_cannot_answer_gets_null(settings: Settings, us018: str):
    # The model, shown the best passages, finds no answer: the result says so and cites nothing.
    vlm = ScriptedVlm('{"answer": null, "passages": []}')
    result = answer_about(us018, "What is the name of the principal of Maine's largest school?", settings=settings,
                          engine=vlm)
    assert result.answer is None and result.citations == [] and result.reason
    # Without a model, nothing is invented either.
    plain = answer_about(us018, "What is the name of the principal of Maine's largest school?", settings=settings,
                         engine=OcrEngine())
    assert plain.answer is None and plain.method == "retrieval"


async def test_sampling_route_asks_the_clients_model(settings: Settings, us018: str):
    seen: list[CreateMessageRequestParams] = []

    async def sampling(context, params: CreateMessageRequestParams) -> CreateMessageResult:
        seen.append(params)
        prompt = params.messages[0].content.text
        # A deterministic "model": answer with the first figure line of passage 1.
        passage = prompt.split("[1] ", 1)[1].split("\n[2] ", 1)[0]
        answer = next(line for line in passage.splitlines()[1:] if any(ch.isdigit() for ch in line))
        return CreateMessageResult(role="assistant", model="client-model", stop_reason="endTurn",
                                   content=TextContent(type="text", text=json.dumps({"answer": answer,
                                                                                     "passages": [1]})))

    server = build_server(settings, engine=OcrEngine())
    question = "What is the pupil/teacher ratio in private schools?"
    async with Client(server, sampling_callback=sampling) as client:
        result = await client.call_tool("answer_about", {"source": us018, "question": question})
    assert not result.is_error, result.content
    data = result.structured_content
    assert len(seen) == 1 and question in seen[0].messages[0].content.text and seen[0].system_prompt
    assert data["method"] == "sampling" and data["model"] == "client-model" and data["answer"]
    assert data["citations"][0]["page"] == 5 and data["answer"] in data["citations"][0]["text"]

    async with Client(server) as client:  # no sampling: ranked evidence only, labelled as such
        plain = await client.call_tool("answer_about", {"source": us018, "question": question,
                                                        "evidence_images": 1})
    assert plain.structured_content["method"] == "retrieval" and plain.structured_content["answer"] is None
    assert any(block.type == "image" for block in plain.content)

    async with Client(server) as client:
        bad = await client.call_tool("answer_about", {"source": us018, "question": "  "})
    assert bad.is_error and "empty" in bad.content[0].text
