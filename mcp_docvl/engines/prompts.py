"""Prompts every generative engine sends the same way (local or remote), so their page-cache keys agree."""

TRANSCRIBE_PROMPT = (
    "Transcribe this document page into Markdown, in reading order. Keep headings, paragraphs and lists; write "
    "tables as Markdown tables; transcribe text exactly, without commentary. Output only the transcription."
)
