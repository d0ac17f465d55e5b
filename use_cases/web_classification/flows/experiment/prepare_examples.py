"""Few-shot examples for classify_with_llm.

They are constant, so the prompt puts them right after the system message: the model server's
prompt cache then reuses their tokens across lines and only the line's URL and summary are new.
None of these URLs appears in the datasets, so the examples never leak answers into evaluation.
"""

from __future__ import annotations

from promptflow.core import tool

EXAMPLES: tuple[dict[str, str], ...] = (
    {
        "url": "https://play.google.com/store/apps/details?id=com.whatsapp",
        "text_content": "Google Play listing of WhatsApp Messenger, a free messaging and calling app.",
        "category": "App",
        "evidence": "Google Play app listing",
    },
    {
        "url": "https://www.youtube.com/@NatGeo",
        "text_content": "YouTube channel of National Geographic with videos about nature and science.",
        "category": "Channel",
        "evidence": "YouTube channel with videos",
    },
    {
        "url": "https://github.com/octocat",
        "text_content": "GitHub page of the user octocat listing repositories and followers.",
        "category": "Profile",
        "evidence": "GitHub user page",
    },
    {
        "url": "https://www.who.int/docs/default-source/documents/world-health-report.pdf",
        "text_content": "World Health Report by the World Health Organization, a long report document.",
        "category": "PDF",
        "evidence": "URL ends in .pdf",
    },
)


@tool
def prepare_examples() -> list[dict[str, str]]:
    return [dict(example) for example in EXAMPLES]
