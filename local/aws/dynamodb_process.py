"""moto's DynamoDB in a process of its own, so that its request handling (the largest share of local
mode's CPU per event) no longer competes for the main process's GIL with the Step Functions
interpreter, the WebSocket gateway and the other services.

The child serves DynamoDB on a port of its own, with what the main endpoint does for every request
in front of it: AwsFront's checks (only DynamoDB calls, SigV4 and IAM with a copy of the run's
LocalIam, every credential it will see minted before the start; no CORS), the fault plan's
`dynamodb` strikes, and one request at a time (SerializedDynamoDb: DynamoDB's atomic writes). Handlers reach it through
`AWS_ENDPOINT_URL_DYNAMODB`; DynamoDB calls that arrive at the main endpoint anyway (the user's own
tools, the tests' set-up) are forwarded to it unchanged, so one endpoint still serves every service.

The parent talks to the child over a pipe: configure the fault plan, read its report, stop.
"""

from __future__ import annotations

import http.client
import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

from local.aws.front import is_dynamodb_call
from local.iam.policies import LocalIam
from local.iam.sigv4 import SignedRequest

START_TIMEOUT_SECONDS = 60
PROCESS_NAME = "moto-dynamodb"  # what `ps` and `top` show for it (Linux), and how the benchmarks find it


class DynamoDbProcess:
    def __init__(self, host: str, iam: LocalIam | None) -> None:
        context = multiprocessing.get_context("spawn")  # no copy of the parent's threads and moto state
        self._control, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(host, iam, child_end), name="moto-dynamodb", daemon=True)
        self._process.start()
        child_end.close()
        if not self._control.poll(START_TIMEOUT_SECONDS):
            self._process.kill()
            raise RuntimeError("moto's DynamoDB process did not start")
        self.host, self.port = host, self._control.recv()
        self.endpoint = f"http://{host}:{self.port}"
        self._lock = threading.Lock()  # one request and its answer on the pipe at a time
        self._local = threading.local()

    def _ask(self, *command: Any) -> Any:
        with self._lock:
            self._control.send(command)
            return self._control.recv()

    def configure_faults(self, settings: dict[str, Any]) -> None:
        self._ask("configure", settings)

    def update_iam(self, iam: LocalIam) -> None:
        """The stack was re-synthesized: check calls against its policies (and the credentials minted since)."""
        self._ask("iam", iam)

    def fault_report(self) -> dict[str, Any]:
        report: dict[str, Any] = self._ask("report")
        return report

    def forward(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """WSGI: send one request to the child as it came (headers, signature and all) and relay its answer."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        request = SignedRequest.from_wsgi(environ)
        try:
            connection.request(request.method, request.target, body=request.body, headers=request.headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self._local.connection = None
            raise
        start_response(f"{response.status} {response.reason}", [(k, v) for k, v in response.getheaders()])
        return [data]

    def stop(self) -> None:
        try:
            self._ask("stop")
        except (OSError, EOFError):
            pass
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()


def _name_this_process(name: str) -> None:
    """Linux: the process's name in /proc/<pid>/comm (elsewhere nothing happens)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _serve(host: str, iam: LocalIam | None, control: Any) -> None:
    """The child: moto's DynamoDB app behind the IAM check and the fault plan, until told to stop."""
    _name_this_process(PROCESS_NAME)
    from moto.moto_server.werkzeug_app import create_backend_app

    from local.aws.front import AwsFront, DynamoDbFaults, SerializedDynamoDb
    from local.aws.moto_patches import forget_model_instances
    from local.aws.wsgi_server import KeepAliveWsgiServer
    from local.faults.plan import PLAN

    forget_model_instances()

    front = AwsFront(SerializedDynamoDb(DynamoDbFaults(create_backend_app("dynamodb"))), iam or LocalIam({}), only="dynamodb")
    server = KeepAliveWsgiServer(host, 0, front)
    threading.Thread(target=server.serve_forever, name="dynamodb", daemon=True).start()
    control.send(server.server_address[1])
    while True:
        try:
            command, *args = control.recv()
        except EOFError:  # the parent is gone
            break
        if command == "stop":
            control.send(None)
            break
        if command == "configure":
            PLAN.configure(args[0])
        if command == "iam":
            front.iam = args[0]
        control.send(PLAN.report())
    server.shutdown()


class DynamoDbRouter:
    """WSGI: DynamoDB API calls go to moto's DynamoDB in its own process (whose own AwsFront checks
    them), everything else to `app`. Routed by the X-Amz-Target DynamoDB answers to, the field the
    check reads: a target of another prefix stays here, and this port's AwsFront refuses it."""

    def __init__(self, app: Callable[..., Any], dynamodb: DynamoDbProcess) -> None:
        self.app = app
        self.dynamodb = dynamodb

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if is_dynamodb_call(environ):
            return self.dynamodb.forward(environ, start_response)
        return self.app(environ, start_response)
