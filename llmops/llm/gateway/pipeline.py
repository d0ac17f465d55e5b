"""One call: route, hash, then cassette, cache or upstream (with retries), then accounting."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from llmops.errors import LlmopsError
from llmops.llm.gateway.accounting import AccountingWriter, CallRecord
from llmops.llm.gateway.cache import ResponseCache
from llmops.llm.gateway.call_errors import (
    BAD_REQUEST_STATUS,
    REFUSAL_STATUSES,
    REPLAY_MISS_STATUS,
    UPSTREAM_EXHAUSTED_STATUS,
    GatewayCallError,
    provider_refused,
)
from llmops.llm.gateway.cassettes import CassetteEntry, CassetteStore, Mode
from llmops.llm.gateway.hashing import (
    RepeatCounter,
    cache_key,
    canonical_request,
    is_sampled,
    request_hash,
    trial_of_call,
)
from llmops.llm.gateway.prices import PriceTable
from llmops.llm.gateway.redaction import redact_body, redact_bytes, redact_json, redact_text
from llmops.llm.gateway.retry import RetryNotice, RetryPolicy, call_with_retries
from llmops.llm.gateway.routes import Endpoint, parse_call_path
from llmops.llm.gateway.tags import UNTAGGED, Route, RouteTable, Tag
from llmops.llm.gateway.translate import build_upstream_request
from llmops.llm.gateway.transport import Transport, UpstreamResponse
from llmops.llm.gateway.trial_seed import seeded_for_trial
from llmops.llm.gateway.upstream import Upstream

logger = logging.getLogger(__name__)

REPLAY_UPSTREAM_NAME = "cassette"  # the accounting's upstream for replayed calls of unbound connections


@dataclass
class UpstreamBinding:
    upstream: Upstream
    transport: Transport
    slots: threading.BoundedSemaphore  # the per-upstream concurrency limit


@dataclass(frozen=True)
class GatewayReply:
    status: int
    body: bytes
    stream: bool = False  # the client asked for server-sent events
    include_usage: bool = False
    endpoint: Endpoint = Endpoint.CHAT


@dataclass
class _Call:
    """What is known about a call so far; becomes its accounting record."""

    route: Route = field(default_factory=lambda: Route("", UNTAGGED))
    upstream: str = ""
    model: str = ""
    endpoint: str = ""
    digest: str = ""
    outcome: str = "miss"
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    error: str = ""


class CallPipeline:
    def __init__(
        self,
        *,
        bindings: Mapping[str, UpstreamBinding],
        routes: RouteTable,
        mode: Mode,
        cache: ResponseCache | None,
        cassettes: CassetteStore | None,
        accounting: AccountingWriter | None,
        retry: RetryPolicy,
        prices: PriceTable,
        replay_hint: str,
        secrets: Sequence[str],
    ) -> None:
        self._bindings = dict(bindings)
        self._routes = routes
        self._mode = mode
        self._cache = cache
        self._cassettes = cassettes
        self._accounting = accounting
        self._retry = retry
        self._prices = prices
        self._replay_hint = replay_hint
        self._repeats = RepeatCounter()
        self._rng = random.Random()
        self._retry_notice = RetryNotice()
        self._outcomes: Counter[str] = Counter()  # calls of this gateway's lifetime by outcome (miss, hit...)
        self._outcomes_lock = threading.Lock()
        self.secrets = list(secrets)  # masked in every body stored or returned, and in every error

    def handle(self, raw_path: str, raw_body: bytes) -> GatewayReply:
        started = time.perf_counter()
        call = _Call()
        try:
            reply = self._handle(raw_path, raw_body, call)
        except Exception as error:
            failure = _call_error(error, raw_path)
            call.error = failure.message
            reply = GatewayReply(failure.status, redact_bytes(failure.body(), self.secrets))
        latency_ms = (time.perf_counter() - started) * 1000
        with self._outcomes_lock:
            self._outcomes[call.outcome] += 1
        self._account(call, reply.status, latency_ms)
        return reply

    def _handle(self, raw_path: str, raw_body: bytes, call: _Call) -> GatewayReply:
        incoming = parse_call_path(raw_path)
        call.endpoint = incoming.endpoint.value
        if incoming.tag_id is not None:
            call.route = self._routes.resolve(incoming.tag_id)
        else:
            call.route = Route(self._untagged_connection(), UNTAGGED)
        body = _parse_body(raw_body)
        requested_model = incoming.deployment or body.get("model")
        if not isinstance(requested_model, str) or not requested_model:
            raise GatewayCallError(
                BAD_REQUEST_STATUS,
                "request body has no 'model'; OpenAI-shaped calls must name "
                "the model (prompt flow: set the LLM node's model input)",
                "invalid_request_error",
            )
        binding = self._bindings.get(call.route.connection)
        call.upstream = binding.upstream.name if binding else REPLAY_UPSTREAM_NAME
        call.model = binding.upstream.deployment_for(requested_model) if binding else requested_model
        call.digest = self._request_digest(incoming.endpoint, requested_model, body, call.route.tag)
        answer: Mapping[str, Any] | None
        recorded = self._recorded(call) if self._mode in (Mode.REPLAY, Mode.RECORD) else None
        if recorded is not None:
            response, answer = recorded
        elif self._mode == Mode.REPLAY:
            raise self._replay_miss(call)
        else:
            if binding is None:  # route() refuses unknown connections outside replay mode
                raise AssertionError(f"connection '{call.route.connection}' has no upstream")
            response, answer = self._live(call, binding, incoming.endpoint, requested_model, body)
        if answer is None:
            if binding is not None and response.status in REFUSAL_STATUSES:
                raise provider_refused(response.status, call.route.connection, binding.upstream.defined_in)
            masked = redact_body(response.body, self.secrets)
            call.error = masked[:500].decode(errors="replace")
            return GatewayReply(response.status, masked)
        self._count_usage(call, answer)
        stream_options = body.get("stream_options")
        include_usage = bool(isinstance(stream_options, dict) and stream_options.get("include_usage"))
        return GatewayReply(200, response.body, bool(body.get("stream")), include_usage, incoming.endpoint)

    def outcomes(self) -> dict[str, int]:
        """How many calls this gateway has answered, by outcome: miss and record (sent upstream), hit, replay."""
        with self._outcomes_lock:
            return dict(self._outcomes)

    def _untagged_connection(self) -> str:
        if len(self._bindings) == 1:
            return next(iter(self._bindings))
        if self._mode == Mode.REPLAY:
            return ""  # replay needs no upstream: every cassette is searched
        raise GatewayCallError(
            404,
            f"the gateway has {len(self._bindings)} upstream connections and this call names none; "
            "call the URL returned by Gateway.route(connection, kind, tag)",
            "invalid_request_error",
        )

    def _request_digest(self, endpoint: Endpoint, model: str, body: Mapping[str, Any], tag: Tag) -> str:
        trial = trial_of_call(endpoint, body, tag.trial)
        base = request_hash(endpoint, model, body, None, trial)
        if not is_sampled(endpoint, body):
            return base
        return request_hash(endpoint, model, body, self._repeats.next(tag.run, base), trial)

    def _recorded(self, call: _Call) -> tuple[UpstreamResponse, Mapping[str, Any]] | None:
        """The cassette's answer to this call, or None when it has none."""
        assert self._cassettes is not None
        recorded = self._cassettes.find(call.route.tag.flow, call.digest)
        if recorded is None:
            return None
        call.outcome = "replay"
        answer = redact_json(recorded, self.secrets)  # a cassette recorded before answers were masked
        return UpstreamResponse(200, json.dumps(answer, ensure_ascii=False).encode()), answer

    def _replay_miss(self, call: _Call) -> GatewayCallError:
        assert self._cassettes is not None
        call.outcome = "replay"
        tag = call.route.tag
        where = self._cassettes.path_for(tag.flow) if tag.flow else self._cassettes.directory
        flow = f"flow '{tag.flow}'" if tag.flow else "an untagged flow"
        node = f", node '{tag.node}'" if tag.node else ""
        how = (
            f"record it with `{self._replay_hint}`"
            if self._replay_hint
            else "record it by running this flow with the gateway in record mode"
        )
        return GatewayCallError(
            REPLAY_MISS_STATUS,
            f"replay miss: no recorded response for request {call.digest} ({flow}{node}) in '{where}'; {how}",
            "replay_miss",
        )

    def _live(
        self,
        call: _Call,
        binding: UpstreamBinding,
        endpoint: Endpoint,
        requested_model: str,
        body: Mapping[str, Any],
    ) -> tuple[UpstreamResponse, Mapping[str, Any] | None]:
        """The upstream's answer (through the cache) and its parsed body; None for an error answer."""
        upstream = binding.upstream
        key = cache_key(upstream.name, call.digest)
        hit = self._cache_hit(call, key, body)
        if hit is not None:
            return hit
        call.outcome = "record" if self._mode in (Mode.RECORD, Mode.REFRESH) else "miss"
        trial = trial_of_call(endpoint, body, call.route.tag.trial)
        request = build_upstream_request(
            upstream, endpoint, requested_model, seeded_for_trial(upstream, endpoint, body, trial)
        )
        describe = f"upstream '{upstream.name}' ({request.model})"
        with binding.slots:
            # Look again once a slot is ours: while this call waited, the same request may have been answered.
            # A client that gives up waiting sends it again (the OpenAI client retries after its timeout, which a
            # queue at a one-slot embedded model outlasts); that copy must not reach the upstream a second time.
            hit = self._cache_hit(call, key, body)
            if hit is not None:
                return hit
            outcome = call_with_retries(
                self._retry,
                lambda timeout: binding.transport.send(request, timeout),
                self._rng,
                describe,
                self.secrets,
                self._retry_notice,
            )
        call.attempts = outcome.attempts
        if outcome.exhausted or outcome.response is None:
            raise GatewayCallError(
                UPSTREAM_EXHAUSTED_STATUS,
                f"{describe} failed after {outcome.attempts} attempts in {outcome.elapsed_s:.1f} s "
                f"(gateway retry bound: max_attempts={self._retry.max_attempts}, "
                f"max_total_seconds={self._retry.max_total_seconds:g}); last error: "
                f"{outcome.last_problem}; check that the upstream is up",
                "upstream_unavailable",
            )
        response = outcome.response
        if not 200 <= response.status < 300:
            return response, None
        masked, answer = self._masked(response.body, _parse_answer(describe, response.body))
        if self._cache is not None:
            self._cache.put(key, upstream.name, endpoint.value, request.model, masked)
        self._record_cassette(call, body, answer)
        return UpstreamResponse(200, masked), answer

    def _cache_hit(
        self, call: _Call, key: str, body: Mapping[str, Any]
    ) -> tuple[UpstreamResponse, Mapping[str, Any]] | None:
        cached = self._cache.get(key) if self._cache is not None else None
        if cached is None:
            return None
        call.outcome = "hit"
        cached, answer = self._masked(cached, json.loads(cached))  # cached before answers were masked
        self._record_cassette(call, body, answer)
        return UpstreamResponse(200, cached), answer

    def _masked(self, body: bytes, answer: Mapping[str, Any]) -> tuple[bytes, Mapping[str, Any]]:
        """An answer with the secrets it echoes masked, before it is stored or returned (streamed answers
        are built from it whole, so a secret cannot hide split across chunks)."""
        masked = redact_json(answer, self.secrets)
        return (body, answer) if masked is answer else (json.dumps(masked, ensure_ascii=False).encode(), masked)

    def _record_cassette(self, call: _Call, body: Mapping[str, Any], answer: Mapping[str, Any]) -> None:
        if self._mode not in (Mode.RECORD, Mode.REFRESH) or self._cassettes is None:
            return
        tag = call.route.tag
        self._cassettes.add(
            CassetteEntry(
                hash=call.digest,
                flow=tag.flow,
                node=tag.node,
                endpoint=call.endpoint,
                model=call.model,
                request=redact_json(canonical_request(body), self.secrets),
                response=answer,
            )
        )

    def _count_usage(self, call: _Call, answer: Mapping[str, Any]) -> None:
        usage = answer.get("usage") or {}
        call.prompt_tokens = int(usage.get("prompt_tokens") or 0)
        call.completion_tokens = int(usage.get("completion_tokens") or 0)
        if call.outcome in ("miss", "record"):  # hits and replays cost nothing upstream
            priced_model = str(answer.get("model") or call.model)
            call.cost_usd = self._prices.cost(priced_model, call.prompt_tokens, call.completion_tokens)

    def _account(self, call: _Call, status: int, latency_ms: float) -> None:
        if self._accounting is None:
            return
        tag = call.route.tag
        self._accounting.record(
            CallRecord(
                ts=datetime.now(UTC).isoformat(timespec="milliseconds"),
                run=tag.run,
                variant=tag.variant,
                flow=tag.flow,
                node=tag.node,
                line=tag.line,
                connection=call.route.connection,
                upstream=call.upstream,
                model=call.model,
                endpoint=call.endpoint,
                prompt_tokens=call.prompt_tokens,
                completion_tokens=call.completion_tokens,
                latency_ms=round(latency_ms, 3),
                cache=call.outcome,
                attempts=call.attempts,
                status=status,
                cost_usd=call.cost_usd,
                request_hash=call.digest,
                error=redact_text(call.error, self.secrets),
            )
        )


def _call_error(error: Exception, raw_path: str) -> GatewayCallError:
    if isinstance(error, GatewayCallError):
        return error
    if isinstance(error, LlmopsError):  # a broken cassette file, for example: the message says what to fix
        return GatewayCallError(UPSTREAM_EXHAUSTED_STATUS, str(error), "gateway_error")
    # A gateway bug must fail the line, not hang or crash the server thread.
    logger.exception("gateway failed on %s", raw_path.split("?")[0])
    return GatewayCallError(
        UPSTREAM_EXHAUSTED_STATUS, f"gateway internal error: {type(error).__name__}: {error}", "gateway_error"
    )


def _parse_body(raw_body: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw_body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GatewayCallError(
            BAD_REQUEST_STATUS, f"request body is not valid JSON: {error}", "invalid_request_error"
        ) from error
    if not isinstance(body, dict):
        raise GatewayCallError(BAD_REQUEST_STATUS, "request body must be a JSON object", "invalid_request_error")
    return body


def _parse_answer(describe: str, body: bytes) -> Mapping[str, Any]:
    try:
        answer = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GatewayCallError(
            UPSTREAM_EXHAUSTED_STATUS,
            f"{describe} answered with a body that is not JSON ({error}); check its base_url",
            "upstream_invalid_response",
        ) from error
    if not isinstance(answer, dict):
        raise GatewayCallError(
            UPSTREAM_EXHAUSTED_STATUS,
            f"{describe} answered with JSON that is not an object; check its base_url",
            "upstream_invalid_response",
        )
    return answer
