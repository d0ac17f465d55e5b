"""Routes: which handler serves a method and ARM path, and the checks ARM makes before any handler runs.

ARM matches paths case-insensitively and refuses a request without an api-version, or with one the
resource provider never published for that resource type, before the provider sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from .errors import ServiceError
from .http import Request, Response

PROVIDER = "Microsoft.MachineLearningServices"
WORKSPACE_PATH = (
    "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/" + PROVIDER + "/workspaces/{workspace}"
)

# Published api-versions of Microsoft.MachineLearningServices for the workspace resources served here:
# every version azure-ai-ml 1.35 pins one of its clients to, and the other public ones of those years.
API_VERSIONS = (
    "2022-02-01-preview",
    "2022-05-01",
    "2022-06-01-preview",
    "2022-10-01",
    "2022-10-01-preview",
    "2022-12-01-preview",
    "2023-02-01-preview",
    "2023-04-01",
    "2023-04-01-preview",
    "2023-06-01-preview",
    "2023-08-01-preview",
    "2023-10-01",
    "2024-01-01-preview",
    "2024-04-01",
    "2024-04-01-preview",
    "2024-07-01-preview",
    "2024-10-01",
    "2024-10-01-preview",
    "2025-01-01-preview",
    "2025-04-01-preview",
    "2025-12-01",
)

Handler = Callable[[Request, dict[str, str]], Response]
Authenticate = Callable[[Request], None]  # raises the service's 401 when the request may not go on
Denied = Callable[[Request, str], ServiceError]  # the service's 403 for a request lacking a role action

_VERBS = {"GET": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    resource_type: str  # as ARM names it in errors, e.g. workspaces/data/versions
    handler: Handler
    action_verb: str | None  # a POST action's name (listSecrets, cancel); None for plain reads and writes
    arm: bool  # an ARM call, which needs an api-version; the run history data plane needs none
    public: bool  # answered without a bearer token (the workspace's discovery document)
    provider: str = PROVIDER  # the resource provider whose actions the route needs (Microsoft.KeyVault, ...)
    api_versions: tuple[str, ...] = API_VERSIONS  # what ARM accepts for it
    authenticate: Authenticate | None = None  # a data plane's own check instead of ARM's bearer check
    denied: Denied | None = None  # a data plane's own 403 instead of ARM's AuthorizationFailed

    @property
    def action(self) -> str:
        """The role-based access control action this request needs, as a 403 names it."""
        verb = f"{self.action_verb}/action" if self.action_verb else _VERBS[self.method]
        return f"{self.provider}/{self.resource_type}/{verb}"


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}/?$", re.IGNORECASE)


class Router:
    def __init__(self, location: str) -> None:
        self._routes: list[Route] = []
        self._location = location

    def add(
        self,
        method: str,
        template: str,
        resource_type: str,
        handler: Handler,
        action: str | None = None,
        arm: bool = True,
        public: bool = False,
        provider: str = PROVIDER,
        api_versions: tuple[str, ...] = API_VERSIONS,
        authenticate: Authenticate | None = None,
        denied: Denied | None = None,
    ) -> None:
        self._routes.append(
            Route(
                method,
                _compile(template),
                resource_type,
                handler,
                action,
                arm,
                public,
                provider,
                api_versions,
                authenticate,
                denied,
            )
        )

    def match(self, request: Request) -> Match:
        on_path = [(route, m) for route in self._routes if (m := route.pattern.match(request.path))]
        if not on_path:
            raise ServiceError(
                404,
                "InvalidResourceType",
                f"The resource type could not be found in the namespace '{PROVIDER}' for path '{request.path}'.",
            )
        for route, found in on_path:
            if route.method == request.method:
                if route.arm:
                    self._check_api_version(request, route)
                return Match(route, {key: unquote(value) for key, value in found.groupdict().items()})
        raise ServiceError(405, "MethodNotAllowed", f"The requested method '{request.method}' is not allowed.")

    def _check_api_version(self, request: Request, route: Route) -> None:
        version = request.query.get("api-version")
        if not version:
            raise ServiceError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if version not in route.api_versions:
            raise ServiceError(
                400,
                "NoRegisteredProviderFound",
                f"No registered resource provider found for location '{self._location}' and API "
                f"version '{version}' for type '{route.resource_type}'. The supported api-versions "
                f"are '{', '.join(route.api_versions)}'. The supported locations are '{self._location}'.",
            )
