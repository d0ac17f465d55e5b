"""The web_classification use case's flows, run in process by prompt flow's executor.

Every LLM call goes to a stub Azure-OpenAI-shaped chat server on 127.0.0.1 that answers by fixed
rules, so the tests check the flows' wiring, variants, parsing and metrics, not a model's taste.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support.quiet_prompt_flow import quiet_prompt_flow as local_prompt_flow

USE_CASE = Path(__file__).resolve().parents[2] / "use_cases" / "web_classification"
FLOWS = USE_CASE / "flows"
STANDARD_FLOW = FLOWS / "experiment"
CATEGORIES = {"Movie", "App", "Academic", "Channel", "Profile", "PDF", "None"}

# ---------------------------------------------------------------------------------------------
# A deterministic chat-completions server (Azure OpenAI path shape) plus a few HTML pages.


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content", "")
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _category_by_url_rule(url: str) -> str:
    host, path = urlsplit(url).netloc, urlsplit(url).path
    rules = (
        (path.endswith(".pdf"), "PDF"),
        ("arxiv.org" in host or "nature.com" in host, "Academic"),
        ("play.google.com" in host or "apps.apple.com" in host, "App"),
        ("imdb.com" in host or "rottentomatoes.com" in host, "Movie"),
        ("youtube.com" in host, "Channel"),
        ("github.com" in host or "linkedin.com" in host, "Profile"),
    )
    return next((category for matched, category in rules if matched), "None")


def stub_answer(messages: list[dict[str, Any]]) -> str:
    system = _text_of(messages[0]) if messages and messages[0].get("role") == "system" else ""
    last_user = _text_of(messages[-1])
    if system.startswith(("Summarize", "In under 15 words")):
        return f"Summary: {last_user[:60]}"
    if "You check a web page classifier" in system:
        evidence = re.search(r"^Evidence:(.*)$", last_user, re.MULTILINE)
        return "Yes." if evidence and evidence.group(1).strip() else "No, the evidence is empty."
    url_match = re.search(r"^URL: (\S+)", last_user, re.MULTILINE)
    url = url_match.group(1) if url_match else ""
    answer = {"category": _category_by_url_rule(url), "evidence": f"stub rule for {urlsplit(url).netloc}"}
    # Wrapped in prose and a code fence, as small models do, so convert_to_dict earns its keep.
    return f"Sure! Here is the answer:\n```json\n{json.dumps(answer)}\n```"


HTML_PAGES = {
    "/article.html": (
        200,
        "<html><head><title>Demo</title><style>body {color: red}</style><script>var x = 1;</script></head>"
        "<body><h1>Hello   world</h1><p>A page served on loopback.</p></body></html>",
    ),
    "/empty.html": (200, "<html><body><script>only()</script></body></html>"),
    "/broken.html": (500, "<html><body>Internal error</body></html>"),
}


@dataclass
class StubServer:
    base_url: str
    requests: list[dict[str, Any]] = field(default_factory=list)

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]


def _make_handler(stub: StubServer, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
            return

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            status, html = HTML_PAGES.get(urlsplit(self.path).path, (404, "<html>not found</html>"))
            self._reply(status, html.encode(), "text/html; charset=utf-8")

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            with lock:
                stub.requests.append({"path": path, "body": body})
            deployment = re.fullmatch(r"/openai/deployments/([^/]+)/chat/completions", path)
            if not deployment:
                self._reply(404, b'{"error": {"message": "unknown path"}}', "application/json")
                return
            content = stub_answer(body.get("messages", []))
            completion = {
                "id": f"stub-{len(stub.requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": deployment.group(1),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
            self._reply(200, json.dumps(completion).encode(), "application/json")

    return Handler


@pytest.fixture(scope="module")
def stub_server() -> Iterator[StubServer]:
    lock = threading.Lock()
    stub = StubServer(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(stub, lock))
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fresh_requests(stub_server: StubServer) -> None:
    stub_server.requests.clear()


@pytest.fixture(scope="module", autouse=True)
def quiet_prompt_flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep prompt flow off the network and out of ~/.promptflow: no trace service, no telemetry."""
    with local_prompt_flow(tmp_path_factory.mktemp("pf_home")):
        yield


# ---------------------------------------------------------------------------------------------
# Helpers: variant application (as prompt flow does it), executors, module loading.


def apply_variants(flow_dir: Path, destination: Path, chosen: dict[str, str]) -> Path:
    """Copy the flow and replace each `use_variants` node by its chosen (or default) variant's node."""
    shutil.copytree(flow_dir, destination, ignore=shutil.ignore_patterns(".promptflow", "__pycache__"))
    dag_file = destination / "flow.dag.yaml"
    dag = yaml.safe_load(dag_file.read_text(encoding="utf-8"))
    node_variants = dag.pop("node_variants", {})
    nodes = []
    for node in dag["nodes"]:
        if node.get("use_variants"):
            variants = node_variants[node["name"]]
            variant_id = chosen.get(node["name"], variants["default_variant_id"])
            node = {"name": node["name"], **variants["variants"][variant_id]["node"]}
        nodes.append(node)
    dag["nodes"] = nodes
    dag_file.write_text(yaml.safe_dump(dag, sort_keys=False), encoding="utf-8")
    return destination


def create_executor(flow_dir: Path, stub: StubServer) -> Any:
    from promptflow.executor import FlowExecutor

    connections = {
        "aoai": {
            "type": "AzureOpenAIConnection",
            "value": {
                "api_key": "x", "api_base": stub.base_url, "api_type": "azure", "api_version": "2024-02-01",
            },
        }
    }
    return FlowExecutor.create(flow_dir / "flow.dag.yaml", connections=connections, working_dir=flow_dir)


def run_lines(executor: Any, lines: list[dict[str, Any]]) -> list[Any]:
    results = [executor.exec_line(line, index=index) for index, line in enumerate(lines)]
    for result in results:
        assert result.run_info.status.value == "Completed", result.run_info.error
    return results


def flow_output(result: Any) -> dict[str, Any]:
    """The line's flow outputs, without the line_number the executor adds to them."""
    return {name: value for name, value in result.output.items() if name != "line_number"}


def aggregate(executor: Any, lines: list[dict[str, Any]], results: list[Any]) -> dict[str, float]:
    inputs = {name: [line[name] for line in lines] for name in lines[0]}
    names = results[0].aggregation_inputs
    aggregation_inputs = {name: [result.aggregation_inputs[name] for result in results] for name in names}
    return dict(executor.exec_aggregation(inputs, aggregation_inputs).metrics)


def load_flow_module(flow: str, module: str) -> ModuleType:
    path = FLOWS / flow / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"web_classification_{flow}_{module}", path)
    assert spec and spec.loader
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def request_for(stub: StubServer, system_prefix: str) -> dict[str, Any]:
    bodies = [r["body"] for r in stub.chat_requests()]
    matching = [body for body in bodies if _text_of(body["messages"][0]).startswith(system_prefix)]
    assert len(matching) == 1, f"expected one request whose system prompt starts {system_prefix!r}"
    return matching[0]


# ---------------------------------------------------------------------------------------------
# The standard flow.

SUMMARIZE_PROMPTS = {
    "variant_0": ("Summarize the web page text", 48),
    "variant_1": ("In under 15 words", 32),
}
CLASSIFY_PROMPTS = {"variant_0": "Classify the web page as", "variant_1": "Label the web page."}


@pytest.mark.parametrize("summarize_variant", ["variant_0", "variant_1"])
@pytest.mark.parametrize("classify_variant", ["variant_0", "variant_1"])
def test_every_variant_combination_classifies_a_snapshot_url(
    stub_server: StubServer, tmp_path: Path, summarize_variant: str, classify_variant: str
) -> None:
    flow_dir = apply_variants(
        STANDARD_FLOW, tmp_path / "flow",
        {"summarize_text_content": summarize_variant, "classify_with_llm": classify_variant},
    )
    executor = create_executor(flow_dir, stub_server)

    [result] = run_lines(executor, [{"url": "https://play.google.com/store/apps/details?id=com.twitter.android"}])

    assert flow_output(result) == {"category": "App", "evidence": "stub rule for play.google.com"}
    summarize_prefix, summarize_max_tokens = SUMMARIZE_PROMPTS[summarize_variant]
    summarize = request_for(stub_server, summarize_prefix)
    assert summarize["max_tokens"] == summarize_max_tokens
    assert summarize["temperature"] == 0
    assert _text_of(summarize["messages"][-1]).endswith("Install on your Android phone or tablet.")
    classify = request_for(stub_server, CLASSIFY_PROMPTS[classify_variant])
    # System prompt, then the three few-shot turns, then the line: the constant part comes first.
    assert [m["role"] for m in classify["messages"]] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert _text_of(classify["messages"][-1]).startswith(
        "URL: https://play.google.com/store/apps/details?id=com.twitter.android\nSummary: Summary: "
    )


def test_default_variants_are_variant_0(stub_server: StubServer, tmp_path: Path) -> None:
    executor = create_executor(apply_variants(STANDARD_FLOW, tmp_path / "flow", {}), stub_server)

    run_lines(executor, [{"url": "https://arxiv.org/abs/1706.03762"}])

    assert request_for(stub_server, "Summarize the web page text")["max_tokens"] == 48
    request_for(stub_server, "Classify the web page as")


def test_unknown_url_offline_is_classified_from_the_url_alone(
    stub_server: StubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMOPS_OFFLINE", "1")
    executor = create_executor(apply_variants(STANDARD_FLOW, tmp_path / "flow", {}), stub_server)
    url = "https://reports.example.org/annual/2025-report.pdf"

    [result] = run_lines(executor, [{"url": url}])

    assert flow_output(result) == {"category": "PDF", "evidence": "stub rule for reports.example.org"}
    summarize = request_for(stub_server, "Summarize the web page text")
    assert _text_of(summarize["messages"][-1]) == "No page content available."
    classify = request_for(stub_server, "Classify the web page as")
    assert _text_of(classify["messages"][-1]).startswith(f"URL: {url}\n")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/article.html", "Demo Hello world A page served on loopback."),
        ("/empty.html", "No page content available."),
        ("/broken.html", "No page content available."),
        ("/missing.html", "No page content available."),
    ],
)
def test_live_fetch_of_a_url_missing_from_the_snapshot(
    stub_server: StubServer, monkeypatch: pytest.MonkeyPatch, path: str, expected: str
) -> None:
    monkeypatch.delenv("LLMOPS_OFFLINE", raising=False)
    fetch = load_flow_module("experiment", "fetch_text_content_from_url")

    assert fetch.fetch_text_content_from_url(stub_server.base_url + path) == expected


def test_offline_never_fetches(stub_server: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOPS_OFFLINE", "true")
    fetch = load_flow_module("experiment", "fetch_text_content_from_url")

    text = fetch.fetch_text_content_from_url(stub_server.base_url + "/article.html")

    assert text == "No page content available."
    assert stub_server.requests == []


@pytest.mark.parametrize(
    ("url", "expected_start"),
    [
        ("https://arxiv.org/abs/1706.03762", "[1706.03762] Attention Is All You Need."),
        ("HTTPS://ARXIV.ORG/abs/1706.03762/", "[1706.03762] Attention Is All You Need."),
        ("  https://www.youtube.com/@TED#videos ", "TED - YouTube."),
    ],
)
def test_snapshot_lookup_tolerates_spelling(url: str, expected_start: str) -> None:
    fetch = load_flow_module("experiment", "fetch_text_content_from_url")

    assert fetch.fetch_text_content_from_url(url).startswith(expected_start)


@pytest.mark.parametrize(
    ("answer", "category", "evidence"),
    [
        ('{"category": "App", "evidence": "Google Play listing"}', "App", "Google Play listing"),
        ('```json\n{"category": "Movie", "evidence": "IMDb title"}\n```', "Movie", "IMDb title"),
        ('JSON: {"category": "pdf", "evidence": "ends in .pdf"} Thanks!', "PDF", "ends in .pdf"),
        ("{'category': 'Channel', 'evidence': 'YouTube channel'}", "Channel", "YouTube channel"),
        ('{"Category": " academic ", "Evidence": "arXiv {abstract}"}', "Academic", "arXiv {abstract}"),
        ('{"category": "Profile"}', "Profile", ""),
        ('{"note": 1} then {"category": "None", "evidence": "news site"}', "None", "news site"),
        ("Profile", "Profile", ""),
        ('{"category": "Other", "evidence": "news home page"}', "None", "news home page"),
        ('{"category": "Video", "evidence": "a clip"}', "None", ""),
        ('{"category": "App", "evidence": "cut off by max_tok', "App", "cut off by max_tok"),
        ('{"category": "Movie", "evidence": "Film title (IMDb)}', "Movie", "Film title (IMDb)"),
        ('{"category": "Acad', "None", ""),
        ("I think this is a movie page.", "None", ""),
        ("", "None", ""),
    ],
)
def test_convert_to_dict_on_messy_answers(answer: str, category: str, evidence: str) -> None:
    convert = load_flow_module("experiment", "convert_to_dict")

    assert convert.convert_to_dict(answer) == {"category": category, "evidence": evidence}


# ---------------------------------------------------------------------------------------------
# Evaluation flows.


def test_evaluation_grades_lines_and_logs_accuracy(stub_server: StubServer) -> None:
    executor = create_executor(FLOWS / "evaluation", stub_server)
    lines = [
        {"groundtruth": "App", "prediction": "app"},
        {"groundtruth": "PDF", "prediction": " P D F "},
        {"groundtruth": "Movie", "prediction": "Academic"},
        {"groundtruth": "Channel", "prediction": "Channel"},
        {"groundtruth": "None", "prediction": "Profile"},
    ]

    results = run_lines(executor, lines)

    assert [flow_output(r) for r in results] == [
        {"grade": "Correct", "accuracy": 1.0},
        {"grade": "Correct", "accuracy": 1.0},
        {"grade": "Incorrect", "accuracy": 0.0},
        {"grade": "Correct", "accuracy": 1.0},
        {"grade": "Incorrect", "accuracy": 0.0},
    ]
    assert aggregate(executor, lines, results) == {"accuracy": 0.6}  # 3 of 5


def test_evaluation_adv_logs_per_class_and_macro_f1(stub_server: StubServer) -> None:
    executor = create_executor(FLOWS / "evaluation_adv", stub_server)
    pairs = [("Movie", "Movie"), ("Movie", "App"), ("App", "App"), ("PDF", "Academic"), ("None", "None"),
             ("Academic", "academic")]
    lines = [{"groundtruth": truth, "prediction": predicted} for truth, predicted in pairs]

    results = run_lines(executor, lines)

    assert flow_output(results[1]) == {"groundtruth_class": "movie", "predicted_class": "app", "match": 0.0}
    # movie: 1 of 1 predicted right, 1 of 2 found -> P 1, R 0.5, F1 2/3; app: P 0.5, R 1, F1 2/3;
    # academic: P 0.5, R 1, F1 2/3; pdf: never predicted -> 0; none: all right -> 1.
    # macro F1 = (3 * 2/3 + 0 + 1) / 5 = 0.6.
    assert aggregate(executor, lines, results) == {
        "precision_academic": 0.5, "recall_academic": 1.0, "f1_academic": 0.6667,
        "precision_app": 0.5, "recall_app": 1.0, "f1_app": 0.6667,
        "precision_movie": 1.0, "recall_movie": 0.5, "f1_movie": 0.6667,
        "precision_none": 1.0, "recall_none": 1.0, "f1_none": 1.0,
        "precision_pdf": 0.0, "recall_pdf": 0.0, "f1_pdf": 0.0,
        "macro_f1": 0.6,
    }


def test_post_production_evaluation_judges_consistency(stub_server: StubServer) -> None:
    executor = create_executor(FLOWS / "evaluation_post_prod", stub_server)
    lines = [
        {"url": "https://www.youtube.com/@TED", "category": "Channel", "evidence": "TED YouTube channel"},
        {"url": "https://github.com/torvalds", "category": "Profile", "evidence": "GitHub user page"},
        {"url": "https://www.youtube.com/@3blue1brown", "category": "Movie", "evidence": ""},
    ]

    results = run_lines(executor, lines)

    assert [flow_output(r) for r in results] == [
        {"consistent": 1.0, "judgement": "yes"},
        {"consistent": 1.0, "judgement": "yes"},
        {"consistent": 0.0, "judgement": "no"},
    ]
    judge = stub_server.chat_requests()[0]["body"]
    assert (judge["max_tokens"], judge["temperature"]) == (3, 0)
    assert aggregate(executor, lines, results) == {"consistency": 0.6667}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("yes", "yes"), ("No.", "no"), ("YES, it does", "yes"), ("Answer: no", "no"), ("Maybe", "unclear"),
     ("", "unclear"), ("nothing to say", "unclear")],
)
def test_judgement_parsing(answer: str, expected: str) -> None:
    parse = load_flow_module("evaluation_post_prod", "parse_judgement")

    assert parse.judgement_of(answer) == expected


# ---------------------------------------------------------------------------------------------
# The shipped data: every URL has a snapshot, labels are known categories.


def test_every_dataset_url_has_a_snapshot() -> None:
    snapshot = json.loads((STANDARD_FLOW / "page_snapshots.json").read_text(encoding="utf-8"))
    data = read_jsonl(USE_CASE / "data" / "data.jsonl")
    pr_data = read_jsonl(USE_CASE / "data" / "pr_data.jsonl")
    production = read_jsonl(USE_CASE / "data" / "production_log.jsonl")
    sample = json.loads((USE_CASE / "sample-request.json").read_text(encoding="utf-8"))

    urls = {row["url"] for row in data + pr_data + production} | {sample["url"]}
    assert sorted(urls - set(snapshot)) == []
    assert max(len(text) for text in snapshot.values()) <= 500
    assert (len(pr_data), len(production)) == (10, 20)
    assert len(data) >= 40
    assert {row["answer"] for row in data} == CATEGORIES
    assert {row["answer"] for row in pr_data} == CATEGORIES
    assert {row["category"] for row in production} <= CATEGORIES
    assert {row["deployment"] for row in production} == {"blue", "green"}
    assert all(set(row) == {"url", "category", "evidence", "deployment"} for row in production)
