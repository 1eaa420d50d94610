"""Broker security settings reach every client in the shape aiokafka and Faust expect."""

from __future__ import annotations

import ssl
import subprocess

import faust

from pipeline.kafka_auth import client_options, faust_credentials
from pipeline.settings import Settings


def test_plaintext_by_default():
    assert client_options(Settings()) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(Settings()) is None


def test_sasl_scram_over_plaintext():
    settings = Settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="svc",
        kafka_sasl_password="pw",
    )
    assert client_options(settings) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "svc",
        "sasl_plain_password": "pw",
    }
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "svc" and credentials.ssl_context is None
    assert "pw" not in repr(settings)


def test_tls_with_a_ca_file(tmp_path):
    cert, key = tmp_path / "ca.crt", tmp_path / "ca.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=test",
        ],
        check=True,
        capture_output=True,
    )
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_ssl_cafile=cert,
        kafka_sasl_username="u",
        kafka_sasl_password="p",
    )
    options = client_options(settings)
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert isinstance(faust_credentials(settings), faust.SASLCredentials)
    assert isinstance(
        faust_credentials(Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=cert)),
        faust.SSLCredentials,
    )
