"""A gateway shared by forked processes (an endpoint server's workers): routes made in a child are registered with
the parent's running gateway, calls through them are answered and accounted there, and POST /routes needs the
session's token like every other POST."""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path

from llmops.llm.gateway import Tag
from tests.support.gateway_http import azure_upstream, chat, keyed_gateway, rows
from tests.support.loopback_upstream import LoopbackUpstream

pytest_plugins = ["tests.support.gateway_fixtures"]  # the upstream fixture


def test_a_route_made_in_a_forked_child_is_served_by_the_parents_gateway(upstream: LoopbackUpstream,
                                                                           tmp_path: Path) -> None:
    accounting = tmp_path / "calls.sqlite"
    tag = Tag(run="endpoint:demo:blue", variant="v1", flow="web", node="classify")
    with keyed_gateway({"aoai": azure_upstream(upstream)}, accounting_path=accounting) as gateway:
        reading, writing = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: what a worker does when it loads a deployment
            code = 1
            try:
                gateway.use_from_forked_process()
                os.write(writing, gateway.route("aoai", "azure", tag).encode())
                gateway.stop()  # leaves the parent's server alone
                code = 0
            finally:
                os._exit(code)
        os.close(writing)
        url = os.read(reading, 4096).decode()
        os.close(reading)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        assert url.startswith(gateway.url + "/x/")
        status, _ = chat(url)
    assert status == 200
    assert rows(accounting, "run, variant, flow, node, status") == [("endpoint:demo:blue", "v1", "web", "classify",
                                                                     200)]


def test_registering_a_route_needs_the_token(upstream: LoopbackUpstream) -> None:
    with keyed_gateway({"aoai": azure_upstream(upstream)}) as gateway:
        connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
        try:
            body = json.dumps({"connection": "aoai", "tag": {"run": "x"}})
            connection.request("POST", "/routes", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 401
            response.read()
        finally:
            connection.close()
