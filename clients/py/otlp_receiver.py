"""An OTLP/HTTP trace receiver for tests: decodes what an exporter posts and prints the spans.

Listens on 127.0.0.1 on a free port and prints that port alone on the first line of stdout.
Every span of every `POST .../v1/traces` (`application/x-protobuf`, an
ExportTraceServiceRequest) then goes to stdout as one JSON line, flushed at once:

    {"trace_id": hex, "span_id": hex, "parent_span_id": hex or "", "trace_state": str,
     "flags": int, "name": str, "kind": int, "start_time_unix_nano": int,
     "end_time_unix_nano": int, "attributes": {key: value},
     "status": {"code": int, "message": str},
     "resource": {key: value}, "scope": {"name": str, "version": str}}

Each POST is answered 200 with an empty ExportTraceServiceResponse; a body that does not
decode gets 400. Runs until its stdin closes (a test holds it open as a pipe, so the receiver
ends with the test) or until it is killed.

Needs the `opentelemetry-proto` package (clients/requirements.txt).
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PRINT_LOCK = threading.Lock()


def any_value(value):
    """The Python value of an OTLP AnyValue."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(key_values):
    return {kv.key: any_value(kv.value) for kv in key_values}


def span_lines(request):
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = {"name": scope_spans.scope.name, "version": scope_spans.scope.version}
            for span in scope_spans.spans:
                yield json.dumps(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "trace_state": span.trace_state,
                        "flags": span.flags,
                        "name": span.name,
                        "kind": span.kind,
                        "start_time_unix_nano": span.start_time_unix_nano,
                        "end_time_unix_nano": span.end_time_unix_nano,
                        "attributes": attributes(span.attributes),
                        "status": {"code": span.status.code, "message": span.status.message},
                        "resource": resource,
                        "scope": scope,
                    }
                )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except DecodeError as err:
            self.answer(400, f"not an ExportTraceServiceRequest: {err}".encode(), "text/plain")
            return
        lines = list(span_lines(request))
        with PRINT_LOCK:
            for line in lines:
                sys.stdout.write(line + "\n")
            sys.stdout.flush()
        self.answer(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        # stdout carries spans only; requests are not logged.
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Ends with its parent, whose pipe to stdin closes when it exits.
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    server.shutdown()


if __name__ == "__main__":
    main()
