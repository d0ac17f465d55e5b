"""The gateway's per-upstream concurrency limit over real loopback HTTP."""

from __future__ import annotations

import threading

from llmops.llm.gateway import Tag
from tests.support.gateway_http import azure_upstream, chat, keyed_gateway
from tests.support.loopback_upstream import LoopbackUpstream


def test_concurrency_limit_is_respected() -> None:
    with (
        LoopbackUpstream(latency_s=0.1) as slow,
        keyed_gateway({"aoai": azure_upstream(slow, max_concurrency=2)}) as gateway,
    ):
        url = gateway.route("aoai", "azure", Tag())
        statuses: list[int] = []
        threads = [
            threading.Thread(
                target=lambda i=i: statuses.append(
                    chat(url, messages=[{"role": "user", "content": f"question {i}"}])[0]
                )
            )
            for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * 8
    assert slow.peak_concurrency == 2  # 8 calls of 0.1 s at once, the upstream never saw more than 2
