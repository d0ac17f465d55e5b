"""OpenTelemetry for the endpoint: a span per request, a child span per flow line, and request metrics.

Off unless an exporter is configured, and then a request costs nothing here:
- OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / _METRICS_ENDPOINT) set: OTLP over HTTP,
  configured by the standard OTEL_* variables (headers, timeouts, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES);
- APPLICATIONINSIGHTS_CONNECTION_STRING set: Azure Monitor (Application Insights);
- both: both.
Spans and metrics carry the route, status, deployment, model name and version, variant and latency: never a
request or response body, a header or a key. The LLM gateway's calls are not child spans: they leave prompt
flow's tools over HTTP without our trace context, and the gateway's own accounting already times them.

Metrics: `llmops.endpoint.requests` (counter), `http.server.request.duration` (histogram, seconds, the
semantic-convention name), `llmops.endpoint.requests.in_flight` (up-down counter).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

logger = logging.getLogger(__name__)

SCOPE = "llmops.serving"
OTLP_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                  "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
AZURE_MONITOR_VARIABLE = "APPLICATIONINSIGHTS_CONNECTION_STRING"


@dataclass
class RequestTrace:
    """One request's span (None when telemetry is off) and what is known of it so far."""

    span: Span | None
    started: float
    attributes: dict[str, Any] = field(default_factory=dict)

    def describe(self, **attributes: Any) -> None:
        """Add what the request turned out to be (deployment, model...); None values are left out."""
        self.attributes.update({k: v for k, v in attributes.items() if v is not None})


class _Untraced(RequestTrace):
    """Every request's trace while telemetry is off: it keeps nothing, so a request costs no trace of its own."""

    def describe(self, **attributes: Any) -> None:
        pass


_UNTRACED = _Untraced(None, 0.0)


class EndpointTelemetry:
    def __init__(self, endpoint: str, tracer_provider: TracerProvider | None = None,
                 meter_provider: MeterProvider | None = None) -> None:
        self.endpoint = endpoint
        self._providers: list[Any] = [p for p in (tracer_provider, meter_provider) if p is not None]
        self._tracer = tracer_provider.get_tracer(SCOPE) if tracer_provider is not None else None
        self._requests = self._duration = self._in_flight = None
        if meter_provider is not None:
            meter = meter_provider.get_meter(SCOPE)
            self._requests = meter.create_counter("llmops.endpoint.requests", "{request}",
                                                  "Requests answered by the endpoint")
            self._duration = meter.create_histogram("http.server.request.duration", "s",
                                                    "Time from a request's headers to its answer")
            self._in_flight = meter.create_up_down_counter("llmops.endpoint.requests.in_flight", "{request}",
                                                           "POST /score requests being served")

    @property
    def enabled(self) -> bool:
        return bool(self._providers)

    def start(self, method: str, route: str) -> RequestTrace:
        if not self._providers:
            return _UNTRACED
        trace = RequestTrace(None, time.perf_counter(), {"http.request.method": method, "http.route": route,
                                                         "llmops.endpoint": self.endpoint})
        if self._tracer is not None:
            from opentelemetry.trace import SpanKind

            trace.span = self._tracer.start_span(f"{method} {route}", kind=SpanKind.SERVER,
                                                 attributes=trace.attributes)
        return trace

    def line_context(self, trace: RequestTrace) -> Context | None:
        """The context a flow line's span starts in: the request's span."""
        if trace.span is None:
            return None
        from opentelemetry.trace import set_span_in_context

        return set_span_in_context(trace.span)

    def line_span(self, trace: RequestTrace, deployment: str) -> Span | None:
        if self._tracer is None or trace.span is None:
            return None
        return self._tracer.start_span("flow line", context=self.line_context(trace),
                                       attributes={"llmops.deployment": deployment})

    def finish(self, trace: RequestTrace, status: int) -> None:
        if not self._providers:
            return
        seconds = time.perf_counter() - trace.started
        attributes = {**trace.attributes, "http.response.status_code": status}
        if trace.span is not None:
            from opentelemetry.trace import Status, StatusCode

            trace.span.set_attributes({**attributes, "llmops.latency_ms": round(seconds * 1000, 3)})
            if status >= 500:
                trace.span.set_status(Status(StatusCode.ERROR))
            trace.span.end()
        metric_attributes = {k: v for k, v in attributes.items() if k != "llmops.request_id"}
        if self._requests is not None and self._duration is not None:
            self._requests.add(1, metric_attributes)
            self._duration.record(seconds, metric_attributes)

    def in_flight(self, change: int) -> None:
        if self._in_flight is not None:
            self._in_flight.add(change, {"llmops.endpoint": self.endpoint})

    def shutdown(self) -> None:
        for provider in self._providers:
            try:
                provider.shutdown()  # flushes what is still batched
            except Exception:  # an exporter that cannot reach its collector must not fail the server's exit
                logger.warning("telemetry: %s did not shut down cleanly", type(provider).__name__, exc_info=True)


def exporters_named(environ: Mapping[str, str]) -> list[str]:
    """Which exporters `environ` configures: 'otlp', 'azure_monitor', both or none."""
    found = []
    if any(environ.get(v) for v in OTLP_VARIABLES):
        found.append("otlp")
    if environ.get(AZURE_MONITOR_VARIABLE):
        found.append("azure_monitor")
    return found


def from_environment(endpoint: str, environ: Mapping[str, str], worker: int | None = None) -> EndpointTelemetry:
    """Telemetry exported as `environ` configures it; off (no provider, no cost) when it names no exporter.

    `worker`: the worker process of a server with several (workers.py), named in the resource so each process's
    cumulative metrics stay a series of their own instead of overwriting each other's."""
    names = exporters_named(environ)
    if not names:
        return EndpointTelemetry(endpoint)
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, which win over these defaults.
    defaults: dict[str, str | int] = {"service.name": "llmops-endpoint", "llmops.endpoint": endpoint}
    if worker is not None:
        defaults["llmops.worker"] = worker
    resource = Resource.create(defaults)
    tracer_provider = TracerProvider(resource=resource)
    readers = []
    if "otlp" in names:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    if "azure_monitor" in names:
        from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter, AzureMonitorTraceExporter

        connection = environ[AZURE_MONITOR_VARIABLE]
        tracer_provider.add_span_processor(BatchSpanProcessor(AzureMonitorTraceExporter(connection_string=connection)))
        readers.append(PeriodicExportingMetricReader(AzureMonitorMetricExporter(connection_string=connection)))
    logger.info("telemetry: exporting traces and metrics to %s", " and ".join(names))
    return EndpointTelemetry(endpoint, tracer_provider, MeterProvider(resource=resource, metric_readers=readers))
