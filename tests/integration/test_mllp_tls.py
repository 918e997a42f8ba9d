"""MLLP over TLS with certificates generated in the test (trustme): the project's client gets
its ACKs over TLS; plain MLLP and clients without the required certificate are turned away
while the listener keeps serving others. SQLite and PostgreSQL."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from config.app import app_services, create_app
from config.layout import apply_layout, load_layout
from integration.mllp.client import MllpClient, MllpError
from integration.mllp.tls import TlsConfigError, client_context, server_context
from tests.hl7_builder import ack_code, adt
from tests.integration.record_queries import journal, stays


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, str]:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("pas.wgh.example")
    other_ca = trustme.CA()
    stranger = other_ca.issue_cert("stranger.example")
    files = {
        "ca": tmp_path / "ca.pem",
        "cert": tmp_path / "server.pem",
        "key": tmp_path / "server.key",
        "client": tmp_path / "client.pem",
        "stranger": tmp_path / "stranger.pem",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    server.cert_chain_pems[0].write_to_path(str(files["cert"]))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(files["cert"]), append=True)
    server.private_key_pem.write_to_path(str(files["key"]))
    client.private_key_and_cert_chain_pem.write_to_path(str(files["client"]))
    stranger.private_key_and_cert_chain_pem.write_to_path(str(files["stranger"]))
    return {k: str(v) for k, v in files.items()}


def tls_services(settings, **tls):  # type: ignore[no-untyped-def]
    app = create_app(settings=settings.replace(**tls))
    services = app_services(app)
    with services.uow_factory() as uow:
        apply_layout(uow.session, load_layout(settings.layout_file))
        uow.commit()
    return services


def test_messages_over_tls_are_acknowledged_and_plain_mllp_is_refused(settings, pki):
    services = tls_services(settings, mllp_tls_cert=pki["cert"], mllp_tls_key=pki["key"])
    try:
        port = services.start_listener(port=0).port
        with (
            MllpClient("127.0.0.1", port, timeout=10) as plain,
            pytest.raises((MllpError, OSError)),
        ):
            plain.send(adt("A01", control_id="PLAIN"))
        with MllpClient("127.0.0.1", port, tls=client_context(pki["ca"])) as client:
            assert ack_code(client.send(adt("A01", control_id="TLS1"))) == "AA"
            assert ack_code(client.send(adt("A08", control_id="TLS2"))) == "AA"
        assert stays(services) == [("JONES", "AMU", "A1", "active")]
    finally:
        services.stop()


def test_a_client_ca_makes_client_certificates_required(settings, pki):
    services = tls_services(
        settings, mllp_tls_cert=pki["cert"], mllp_tls_key=pki["key"], mllp_tls_ca=pki["ca"]
    )
    try:
        port = services.start_listener(port=0).port
        for refused in (client_context(pki["ca"]), client_context(pki["ca"], pki["stranger"])):
            with (
                pytest.raises((MllpError, OSError, ssl.SSLError)),
                MllpClient("127.0.0.1", port, timeout=10, tls=refused) as client,
            ):
                client.send(adt("A01", control_id="NOCERT"))
        trusted = client_context(pki["ca"], pki["client"])
        with MllpClient("127.0.0.1", port, tls=trusted) as client:
            assert ack_code(client.send(adt("A01", control_id="MTLS"))) == "AA"
        assert len(stays(services)) == 1
    finally:
        services.stop()


def test_bad_tls_settings_are_one_clear_error(tmp_path, pki):
    with pytest.raises(TlsConfigError, match="both"):
        server_context(pki["cert"], "")
    with pytest.raises(TlsConfigError, match="cannot load"):
        server_context(pki["ca"], str(tmp_path / "missing.key"))
    with pytest.raises(TlsConfigError, match="no such file"):
        server_context(pki["cert"], pki["key"], str(tmp_path / "nope.pem"))
    assert server_context("", "") is None


def test_hl7_listen_with_half_a_tls_setting_exits_with_one_line(
    runner, sqlite_url, pki, monkeypatch
):
    from config.cli import cli

    monkeypatch.setenv("WARDBOARD_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("WARDBOARD_MLLP_TLS_CERT", pki["cert"])
    result = runner.invoke(cli, ["hl7", "listen", "--port", "0"])
    assert result.exit_code == 1
    assert "WARDBOARD_MLLP_TLS_KEY" in result.output and "Traceback" not in result.output


def test_plain_and_tls_listeners_side_by_side_and_a_sender_that_must_use_tls(settings, pki):
    from integration.senders import SenderDirectory

    services = tls_services(settings, mllp_tls_cert=pki["cert"], mllp_tls_key=pki["key"])
    services.pipeline.senders = SenderDirectory.from_mapping({"senders": {"GPSYS": {"tls": True}}})
    try:
        plain_port = services.start_listener(port=0, tls_port=0).port
        assert services.mllp_tls is not None
        tls = client_context(pki["ca"])
        with MllpClient("127.0.0.1", plain_port) as plain:
            assert ack_code(plain.send(adt("A01", control_id="PLAINPAS"))) == "AA"
            refused = plain.send(adt("A08", control_id="PLAINGP", sender="GPSYS"))
            assert ack_code(refused) == "AR" and b"must connect over TLS" in refused
        with MllpClient("127.0.0.1", services.mllp_tls.port, tls=tls) as secure:
            assert ack_code(secure.send(adt("A08", control_id="TLSGP", sender="GPSYS"))) == "AA"
        # A rejected message is journalled without its control id (a corrected resend is new).
        seen = sorted((m.sender, m.state, m.peer.startswith("tls:")) for m in journal(services))
        assert seen == [
            ("GPSYS|WGH", "applied", True),
            ("GPSYS|WGH", "rejected", False),
            ("PAS|WGH", "applied", False),
        ]
    finally:
        services.stop()
