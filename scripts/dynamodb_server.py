#!/usr/bin/env python3
"""The local DynamoDB API: moto's server app, one request at a time.

moto applies a transaction's items one by one and undoes a cancelled one by restoring a snapshot
of the whole table, so two transactions running at once on moto's threaded server can overwrite
each other's effects. DynamoDB itself serialises conflicting transactions. Running each request
under one lock gives the local server that property, while connections stay concurrent, so the
race tests exercise idlink's conditions and retries rather than moto's thread safety.

Usage: dynamodb_server.py HOST PORT
"""
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serialised(app):
    lock = threading.Lock()

    def handle(environ, start_response):
        with lock:
            # Materialise the body inside the lock: the request's work ends with it.
            return list(app(environ, start_response))

    return handle


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serialised(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
