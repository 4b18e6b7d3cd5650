"""The HTTP task's target checks (``service/actions/http_client.py``): the allow-list, then the
resolved addresses, with ``socket.getaddrinfo`` replaced by a table."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from chalicelib.service.actions.http_client import Request, Response, _redirected, check_target
from chalicelib.service.actions.http_task import parse_headers, status_matches
from chalicelib.service.actions.outcome import ActionFailed


def resolver(*addresses: str):
    def resolve(host, port, type=0):
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


def refused(url: str, allow, *addresses: str) -> str:
    with pytest.raises(ActionFailed) as exc:
        check_target(url, allow, resolver(*addresses) if addresses else socket.getaddrinfo)
    return exc.value.message


def test_a_public_address_is_called_at_the_address_checked():
    target = check_target(
        "https://api.example/v1/x?a=1", ["https://api.example/"], resolver("93.184.216.34")
    )
    assert (target.scheme, target.host, target.port) == ("https", "api.example", 443)
    assert (target.address, target.path) == ("93.184.216.34", "/v1/x?a=1")


@pytest.mark.parametrize(
    "address, reason",
    [
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("169.254.10.1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "not public"),
        ("240.0.0.1", "private"),  # Python lists 240/4 as private too
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_a_name_resolving_inward_is_refused_even_when_listed(address, reason):
    message = refused("http://internal.example/x", ["http://internal.example"], address)
    parsed = ipaddress.ip_address(address)
    shown = str(getattr(parsed, "ipv4_mapped", None) or parsed)
    assert f"resolves to {shown}" in message and f"a {reason} address" in message


def test_one_inward_address_among_public_ones_is_refused():
    message = refused("http://mixed.example/", ["http://mixed.example/"], "8.8.8.8", "10.0.0.1")
    assert "10.0.0.1" in message


def test_the_metadata_address_is_refused_even_when_the_list_names_it():
    message = refused("http://169.254.169.254/latest/meta-data/", ["http://169.254.169.254/"])
    assert "instance metadata" in message
    message = refused("http://meta.example/", ["http://meta.example/"], "169.254.169.254")
    assert "instance metadata" in message
    mapped = "http://[::ffff:169.254.169.254]/"
    assert "instance metadata" in refused(mapped, [mapped])


def test_an_entry_naming_the_address_allows_that_address():
    target = check_target("http://127.0.0.1:8080/x", ["http://127.0.0.1:8080/"])
    assert target.address == "127.0.0.1"
    target = check_target("http://10.0.0.5/api", ["http://10.0.0.5"], resolver("10.0.0.5"))
    assert target.address == "10.0.0.5"


def test_loopback_of_another_port_is_refused_by_the_allow_list():
    message = refused("http://127.0.0.1:9/x", ["http://127.0.0.1:8080"])
    assert "not under any prefix of WORKFLOW_HTTP_ALLOW" in message
    message = refused("http://127.0.0.1.evil.example/", ["http://127.0.0.1"], "8.8.8.8")
    assert "WORKFLOW_HTTP_ALLOW" in message


def test_only_http_and_https():
    assert "not an http(s) URL" in refused("file:///etc/passwd", ["file:///"])
    assert "not an http(s) URL" in refused("ftp://a.example/", ["ftp://a.example/"])


def test_an_unresolvable_host_is_named():
    def fail(host, port, type=0):
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(ActionFailed, match="host nohost cannot be resolved"):
        check_target("http://nohost:9798/api", ["http://nohost:9798"], fail)


def _response(status: int, location: str) -> Response:
    return Response(status, "", "HTTP/1.1", (("Location", location),), b"", "")


def test_a_redirect_to_another_origin_drops_credentials_and_secret_headers():
    request = Request(
        "GET",
        "https://a.example/x",
        headers=(("Authorization", "Bearer t"), ("X-Key", "k"), ("Accept", "*/*")),
        secret_headers=frozenset({"x-key"}),
    )
    target = check_target(request.url, ["https://a.example"], resolver("8.8.8.8"))
    same = _redirected(request, _response(302, "/y"), target)
    assert same is not None and same.url == "https://a.example/y"
    assert same.headers == request.headers
    other = _redirected(request, _response(301, "https://b.example/z"), target)
    assert other is not None and other.headers == (("Accept", "*/*"),)


def test_a_post_is_redirected_by_303_only():
    request = Request("POST", "https://a.example/x", body=b"{}")
    target = check_target(request.url, ["https://a.example"], resolver("8.8.8.8"))
    assert _redirected(request, _response(302, "/y"), target) is None
    after = _redirected(request, _response(303, "/y"), target)
    assert after is not None and (after.method, after.body) == ("GET", None)


def test_status_lists_and_headers_read_like_flowable():
    assert status_matches(404, {"4XX"}) and status_matches(500, {"400", "5XX"})
    assert not status_matches(404, {"400", "5XX"}) and status_matches(981, {"981"})
    assert parse_headers("Accept: a/b\nX-A:1\n") == [("Accept", "a/b"), ("X-A", "1")]
    with pytest.raises(ActionFailed, match="requestHeaders are invalid"):
        parse_headers("no colon here")
