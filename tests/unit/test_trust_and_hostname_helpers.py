"""Unit tests for the helpers behind trust-source-mismatch (ARN regions) and conflicting-hostnames (which
spellings name one host)."""

from __future__ import annotations

import pytest

from meshlint.analyze.rules.hostnames import hostname_key
from meshlint.analyze.rules.mtls import arn_region


@pytest.mark.parametrize(("arn", "region"), [
    ("arn:aws:acm:eu-west-1:111122223333:certificate/abc", "eu-west-1"),
    ("arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/abc", "us-east-1"),
    ("arn:aws-us-gov:acm-pca:us-gov-west-1:111122223333:certificate-authority/abc", "us-gov-west-1"),
    ("arn:aws-cn:acm:cn-north-1:111122223333:certificate/abc", "cn-north-1"),
    ("arn:aws:acm:eu-west-1:${AWS::AccountId}:certificate/abc", "eu-west-1"),  # the region is written out
    ("arn:aws:acm:${AWS::Region}:111122223333:certificate/abc", None),
    ("arn:aws:acm:{{ .Values.region }}:111122223333:certificate/abc", None),
    ("${CertificateArn}", None),
    ("<CERTIFICATE_ARN>", None),
    ("CA_ARN", None),
    ("arn:aws:acm::111122223333:certificate/abc", None),
])
def test_arn_region(arn: str, region: str | None) -> None:
    assert arn_region(arn) == region


def test_hostname_key_ignores_case_and_final_dot_only() -> None:
    assert hostname_key("Orders.Shop.local.") == hostname_key("orders.shop.local") == "orders.shop.local"
    assert hostname_key("orders-v2.shop.local") != hostname_key("orders.shop.local")
