"""The status and result resources of long-running operations (see ..operations)."""

from __future__ import annotations

from ..context import Context
from ..errors import ServiceError
from ..http import Request, Response, json_response
from ..operations import Operation
from ..routing import PROVIDER, Router

LOCATION_PATH = "/subscriptions/{subscription}/providers/" + PROVIDER + "/locations/{location}"


def register(router: Router, context: Context) -> None:
    def find(params: dict[str, str]) -> Operation:
        operation = context.operations.poll(params["operation"])
        if operation is None:
            raise ServiceError(404, "NotFound", f"Operation '{params['operation']}' was not found.")
        return operation

    def status(request: Request, params: dict[str, str]) -> Response:
        operation = find(params)
        return json_response(operation.body(), headers={"Retry-After": str(context.lro_retry_after)})

    def result(request: Request, params: dict[str, str]) -> Response:
        """202 while the operation runs; then 200 (or the operation's error)."""
        operation = find(params)
        if operation.status == "InProgress":
            return Response(
                202,
                headers={
                    "Location": context.base_url
                    + request.path
                    + "?api-version="
                    + request.query.get("api-version", ""),
                    "Retry-After": str(context.lro_retry_after),
                },
            )
        if operation.error is not None:
            raise operation.error
        return Response(200)

    router.add("GET", LOCATION_PATH + "/mfeOperationsStatus/{operation}", "locations/mfeOperationsStatus", status)
    router.add("GET", LOCATION_PATH + "/mfeOperationResults/{operation}", "locations/mfeOperationResults", result)
