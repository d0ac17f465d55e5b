"""Errors in the service's shape: `{"error": {"code", "message", "details": [...]}}` with an HTTP status.

azure-core turns these into the SDK's exceptions: 404 -> ResourceNotFoundError, 401 ->
ClientAuthenticationError, anything else -> HttpResponseError whose message carries code and message.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    code: str  # Required, InvalidType, InvalidValue, ...
    message: str
    target: str  # the JSON path of the property, e.g. properties.dataUri


@dataclass
class ServiceError(Exception):
    status: int
    code: str
    message: str
    details: tuple[Problem, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    inner_code: str = ""  # Key Vault's innererror.code (ForbiddenByRbac, ...)

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = [{"code": p.code, "message": p.message, "target": p.target} for p in self.details]
        if self.inner_code:
            error["innererror"] = {"code": self.inner_code}
        return {"error": error}


def bad_request(message: str, problems: list[Problem] | tuple[Problem, ...] = ()) -> ServiceError:
    # Azure ML reports a request it refuses to accept as a UserError, with one detail per property.
    return ServiceError(400, "UserError", message, tuple(problems))


def not_found(resource_id: str, resource_group: str) -> ServiceError:
    return ServiceError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_id}' under resource group '{resource_group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def conflict(message: str) -> ServiceError:
    return ServiceError(409, "UserError", message)
