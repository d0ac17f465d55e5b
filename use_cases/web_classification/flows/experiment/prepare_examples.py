"""Few-shot examples for classify_with_llm.

They are constant, so the prompt puts them right after the system message, where a hosted model's
prompt cache (Azure OpenAI, OpenAI) can reuse their tokens across lines. The embedded model evaluates
every prompt whole instead, so that its answers do not depend on the order lines run in.
Three examples keep the prompt near 320 tokens; they cover the labels a 1.5B model got wrong
without them (store listings, .pdf links, ordinary pages). Labels are the ones the prompts ask
for, so "Other" stands for the flow's "None" (convert_to_dict maps it back). None of these URLs
appears in the datasets, so the examples never leak answers into evaluation.
"""

from __future__ import annotations

from promptflow.core import tool

EXAMPLES: tuple[dict[str, str], ...] = (
    {
        "url": "https://play.google.com/store/apps/details?id=com.whatsapp",
        "text_content": "Google Play listing of the WhatsApp messaging app.",
        "category": "App",
        "evidence": "Google Play app listing",
    },
    {
        "url": "https://www.gnu.org/licenses/gpl-3.0.pdf",
        "text_content": "Text of the GNU General Public License, version 3.",
        "category": "PDF",
        "evidence": "URL ends in .pdf",
    },
    {
        "url": "https://www.cnn.com/",
        "text_content": "CNN home page with breaking news and top stories.",
        "category": "Other",
        "evidence": "news home page",
    },
)


@tool
def prepare_examples() -> list[dict[str, str]]:
    return [dict(example) for example in EXAMPLES]
