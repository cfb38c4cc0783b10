"""The WSGI server in front of moto keeps connections alive: one TCP connection, many AWS calls."""

from __future__ import annotations

import http.client
import json
import threading

from local.aws.wsgi_server import KeepAliveWsgiServer


def echo_app(environ, start_response):
    body = json.dumps(
        {"port": environ["REMOTE_PORT"], "path": environ["PATH_INFO"], "body": environ["wsgi.input"].read().decode()}
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Connection", "close")])
    return [body]


def failing_app(environ, start_response):
    raise RuntimeError("boom")


def serve(app) -> KeepAliveWsgiServer:
    server = KeepAliveWsgiServer("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_requests_on_one_connection_are_served_in_turn_without_closing_it():
    server = serve(echo_app)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        answers = []
        for i in range(3):
            connection.request("POST", f"/call%20{i}", body=f"payload {i}")
            response = connection.getresponse()
            assert response.getheader("Connection") != "close"  # the app's hop-by-hop header is not passed on
            answers.append(json.loads(response.read()))
        connection.close()
    finally:
        server.shutdown()
    assert len({a["port"] for a in answers}) == 1  # one TCP connection for all three
    assert [a["path"] for a in answers] == ["/call 0", "/call 1", "/call 2"]
    assert [a["body"] for a in answers] == ["payload 0", "payload 1", "payload 2"]


def test_an_app_that_raises_answers_500_and_the_server_goes_on():
    server = serve(failing_app)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        for _ in range(2):  # the same connection answers again
            connection.request("GET", "/")
            response = connection.getresponse()
            assert response.status == 500 and response.read() == b"Internal Server Error"
    finally:
        server.shutdown()
