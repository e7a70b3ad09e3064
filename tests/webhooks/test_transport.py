"""The delivery connects to the address it checked, yet TLS is verified for the subscriber's own
name: a local HTTPS server with a certificate for ``hooks.test`` (trusted for this test only)
answers a request pinned to 127.0.0.1 for that name, and refuses one for another name."""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from intake.webhooks import transport
from intake.webhooks.addresses import Destination

NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def certificate(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE).not_valid_after(NOT_BEFORE + dt.timedelta(days=365 * 30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


@pytest.fixture
def https_server(tmp_path):
    cert_path, key_path = certificate(tmp_path, "hooks.test")
    hosts: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert_path, hosts
    server.shutdown()
    server.server_close()


def to(host: str, port: int) -> Destination:
    return Destination(scheme="https", host=host, port=port, address="127.0.0.1", target="/in")


def test_tls_is_checked_for_the_name_while_connecting_to_the_checked_address(
    https_server, monkeypatch
):
    port, cert_path, hosts = https_server
    untrusted = transport.post(to("hooks.test", port), body=b"{}", headers={}, timeout=3)
    assert untrusted.error == "TLS error" and hosts == []

    class Trusting(transport._PinnedAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["ca_certs"] = str(cert_path)
            super().init_poolmanager(*args, **kwargs)

        def build_connection_pool_key_attributes(self, request, verify, cert=None):
            return super().build_connection_pool_key_attributes(request, str(cert_path), cert)

        def cert_verify(self, conn, url, verify, cert):
            super().cert_verify(conn, url, str(cert_path), cert)

    monkeypatch.setattr(transport, "_PinnedAdapter", Trusting)
    right = transport.post(to("hooks.test", port), body=b"{}", headers={}, timeout=3)
    assert right.succeeded and hosts == [f"hooks.test:{port}"]
    wrong = transport.post(to("other.test", port), body=b"{}", headers={}, timeout=3)
    assert wrong.error == "TLS error" and len(hosts) == 1
