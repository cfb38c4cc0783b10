"""Local mode under hostile input, over real sockets, as an attacker on the same machine would probe it:
it refuses what API Gateway refuses, the way API Gateway does, and keeps serving everyone else."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

import pytest
import websockets
from order_tracking.connections.store import CONNECTIONS_BY_CUSTOMER

from local.aws.services import local_client
from local.cli.tokens import local_signing_secret, mint, with_token
from local.faults.hooks import TOKEN_HEADER
from tests.support.aio import run
from tests.support.raw_socket import client_frame, close_code, exchange, status_of, upgrade_head
from tests.support.ws_client import TrackingClient

TEXT, BINARY, CONTINUATION = 0x1, 0x2, 0x0


def base(local_mode) -> str:
    return local_mode.ws_url.split("?", 1)[0]


def token_query(customer: str) -> str:
    return f"?token={quote(mint(customer, local_signing_secret()))}"


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local http URL
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def stored_connections(local_mode, stack, customer: str) -> int:
    return local_client(local_mode.aws_url, "dynamodb").query(
        TableName=next(t.name for t in stack.tables() if "Connections" in t.name),
        IndexName=CONNECTIONS_BY_CUSTOMER,
        KeyConditionExpression="customerId = :c",
        ExpressionAttributeValues={":c": {"S": customer}},
    )["Count"]


async def opened(local_mode, *frames: bytes, customer: str = "hostile", wait: float = 3.0) -> bytes:
    """A proper handshake for `customer`, then `frames` as raw bytes; everything the server sent back."""
    return await exchange(base(local_mode), upgrade_head(f"/{token_query(customer)}") + b"".join(frames), timeout=wait)


# 1 ---------------------------------------------------------------------------------------------


def test_a_malformed_upgrade_is_refused_before_anything_runs_and_stores_nothing(local_mode, stack):
    customer = "locked-out"
    no_key = upgrade_head(f"/{token_query(customer)}", key=False)

    async def scenario():
        answers = [await exchange(base(local_mode), no_key, 3) for _ in range(12)]
        left_behind = await asyncio.to_thread(stored_connections, local_mode, stack, customer)
        async with websockets.connect(with_token(base(local_mode), mint(customer, local_signing_secret()))) as ok:
            await ok.send('{"type":"ping"}')
            pong = json.loads(await asyncio.wait_for(ok.recv(), 10))
        return answers, left_behind, pong

    answers, left_behind, pong = run(scenario())
    assert {status_of(a) for a in answers} == {400}
    assert left_behind == 0  # nothing stored behind a refused handshake
    assert pong["type"] == "pong"  # so the customer is not locked out


# 2, 3 ------------------------------------------------------------------------------------------


def test_a_binary_frame_closes_the_connection_with_1003(local_mode):
    answer = run(opened(local_mode, client_frame(BINARY, b'{"type":"ping"}')))
    assert status_of(answer) == 101 and close_code(answer) == 1003
    assert b'"pong"' not in answer


def test_a_single_frame_over_32_kb_closes_with_1009_but_a_large_message_in_frames_is_answered(local_mode):
    too_big = run(opened(local_mode, client_frame(TEXT, b" " * (32 * 1024 + 1))))
    assert close_code(too_big) == 1009
    body = json.dumps({"type": "ping", "pad": "x" * 100_000}).encode()
    parts = [body[i : i + 30_000] for i in range(0, len(body), 30_000)]
    frames = [client_frame(TEXT if i == 0 else CONTINUATION, p, fin=i == len(parts) - 1) for i, p in enumerate(parts)]
    fragmented = run(opened(local_mode, *frames))
    assert close_code(fragmented) is None and b"bad_request" in fragmented  # over 4 KB: refused, connection open


# 4, 5, 6 ---------------------------------------------------------------------------------------


def test_every_frame_gets_an_answer_nested_oversized_ping_and_unechoed_ids(local_mode):
    async def scenario():
        client = await TrackingClient.open(local_mode.ws_url)
        for frame in (
            "[" * 10_000 + "]" * 10_000,
            json.dumps({"type": "ping", "pad": "x" * 5000}),
            json.dumps({"type": "track_order", "orderId": "<b>ZX</b>\x1b[2J" + "x" * 10_000}),
            json.dumps({"type": "track_order", "orderId": "ZX-1001\nREADY"}),
        ):
            count = len(client.frames)
            await client.send(frame)
            await client.wait_for_count(count + 1, timeout=10)
        frames, still_open = list(client.frames), not client.closed
        await client.close()
        return frames, still_open

    frames, still_open = run(scenario())
    assert [f.get("code") for f in frames] == ["bad_request"] * 4 and still_open
    assert all(f["orderId"] is None for f in frames)
    assert not any("<b>" in json.dumps(f) or "READY" in json.dumps(f) for f in frames)
    assert not [line for line in local_mode.lines if "Task exception was never retrieved" in line or "RecursionError" in line]


# 7 ---------------------------------------------------------------------------------------------


def test_connections_api_refuses_unsigned_calls_under_any_path(local_mode):
    http_base = base(local_mode).replace("ws://", "http://")
    for path in ("/dev/@connections/AAAA", "/@connections/AAAA", "/prod/@connections/AAAA"):
        for method, data in (("POST", b'{"type":"order_delivered"}'), ("DELETE", None), ("GET", None)):
            status, headers, _ = http(method, http_base + path, data)
            assert status == 403, (method, path)
    _, headers, body = http("POST", f"{http_base}/dev/@connections/AAAA", b"{}")
    assert json.loads(body) == {"message": "Missing Authentication Token"}


# 8 ---------------------------------------------------------------------------------------------


def test_fault_hooks_need_the_runs_token_refuse_web_pages_and_bound_their_input(local_mode):
    hooks = base(local_mode).replace("ws://", "http://") + "/_local/faults"
    token = {TOKEN_HEADER: local_mode.fault_token}
    assert http("POST", f"{hooks}/outage?seconds=1", b"")[0] == 403  # no token
    assert http("POST", f"{hooks}/outage?seconds=1", b"", {TOKEN_HEADER: "guess"})[0] == 403
    assert http("GET", hooks, None, {**token, "Origin": "http://evil.example"})[0] == 403
    for seconds in ("inf", "abc", "0", "-1", "61", "nan"):
        status, _, body = http("POST", f"{hooks}/outage?seconds={seconds}", b"", token)
        assert status == 400 and json.loads(body)["message"], seconds
    assert http("POST", hooks, b"[1]", token)[0] == 400
    assert http("GET", hooks, None, token)[0] == 200


# 9 ---------------------------------------------------------------------------------------------


def test_client_input_cannot_forge_console_lines_or_send_terminal_escapes(local_mode):
    async def scenario():
        client = await TrackingClient.open(local_mode.ws_url)
        await client.send("teleport\nREADY    websocket ws://forged.example \x1b[31mred")
        await client.send('{"type":"x\\nREADY    websocket ws://forged.example","x":"\\u001b[31mred"}')
        await client.wait_for_count(2, timeout=10)
        await client.close()

    run(scenario())
    run(exchange(base(local_mode), b"GET /\x1b[2J\r\nREADY x HTTP/1.1\r\n\r\n", 3))
    ready = [line for line in local_mode.lines if line.split()[1:2] == ["READY"]]
    assert not [line for line in ready if "forged.example" in line]
    assert not [line for line in local_mode.lines if "\x1b" in line]


# 11 --------------------------------------------------------------------------------------------


def test_malformed_requests_get_400_not_a_dropped_socket(local_mode):
    negative = run(exchange(base(local_mode), b"POST /dev/@connections/x HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", 3))
    assert status_of(negative) == 400
    garbage = run(exchange(base(local_mode), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 3))
    assert status_of(garbage) == 400
    web = urlsplit(local_mode.web_url)
    nul = run(exchange(f"http://{web.netloc}", b"GET /%00index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 3))
    assert status_of(nul) == 400
    assert not [line for line in local_mode.lines if "Traceback" in line]


# 12 --------------------------------------------------------------------------------------------


def test_the_client_is_served_with_the_deployed_security_headers_and_config_json_only_to_loopback(local_mode):
    status, headers, _ = http("GET", local_mode.web_url)
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and f"connect-src 'self' {base(local_mode)};" in csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    answer = run(exchange(local_mode.web_url, b"GET /config.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 3))
    assert answer.lower().count(b"cache-control:") == 1 and b"Content-Security-Policy" in answer
    assert status_of(answer) == 200
    rebound = run(exchange(local_mode.web_url, b"GET /config.json HTTP/1.1\r\nHost: evil.example:8000\r\n\r\n", 3))
    assert status_of(rebound) == 403 and b"token" not in rebound.split(b"\r\n\r\n", 1)[1]


def test_only_the_javascript_modules_answer_a_cross_origin_request(local_mode):
    """As CloudFront's *.js behaviour does (docs/client.md): a shop's page may import the element."""
    shop = {"Origin": "http://shop.example"}
    status, headers, body = http("GET", f"{local_mode.web_url}order-tracker.js", headers=shop)
    assert status == 200 and b"customElements.define" in body
    assert headers["Access-Control-Allow-Origin"] == "*" and headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert "Content-Security-Policy" in headers  # and the security headers, as every file
    _, same_origin, _ = http("GET", f"{local_mode.web_url}order-tracker.js")
    assert "Access-Control-Allow-Origin" not in same_origin  # only a request naming its Origin
    for path in ("", "index.html", "styles.css", "favicon.svg"):
        _, headers, _ = http("GET", f"{local_mode.web_url}{path}", headers=shop)
        assert "Access-Control-Allow-Origin" not in headers, path
    head = b"GET /config.json HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://shop.example\r\nConnection: close\r\n\r\n"
    config = run(exchange(local_mode.web_url, head, 3))
    assert status_of(config) == 200 and b"access-control-allow-origin" not in config.lower()


# 13 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/prod", 403), ("/other/path", 403), ("/dev", 101), ("/", 101)])
def test_only_the_root_and_this_stages_path_are_websocket_endpoints(local_mode, path, status):
    answer = run(exchange(base(local_mode), upgrade_head(f"{path}{token_query('paths')}"), 1))
    assert status_of(answer) == status


# After all of it -------------------------------------------------------------------------------


def test_after_the_probe_a_fresh_client_tracks_an_order_to_its_end_and_no_traceback_was_logged(local_mode):
    async def scenario():
        client = await TrackingClient.open(local_mode.ws_url)
        await client.track("ZX-1003")
        frames = await client.wait_for(lambda f: len([x for x in f if "seq" in x]) >= 2, timeout=30)
        await client.close()
        return [f["label"] for f in frames if "seq" in f]

    assert run(scenario()) == ["Order received", "Cancelled by customer"]
    assert not [line for line in local_mode.lines if "Traceback" in line or "exception was never retrieved" in line]
