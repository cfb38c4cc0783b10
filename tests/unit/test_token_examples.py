"""docs/client.md's token examples, as a shop's backend would run them: the Python and the Node.js one
each mint a token the authorizer's own check admits for the customer named, and the code the page shows
is the code of the files."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from order_tracking.connections.tokens import TokenRefused, customer_of

from infra.config import ROOT

EXAMPLES = ROOT / "docs" / "examples"
SECRET = "a-signing-secret-of-the-stack-" + "x" * 34


def run(command: list[str], secret: str = SECRET) -> str:
    environment = {**os.environ, "SIGNING_SECRET": secret}
    return subprocess.run(command, capture_output=True, text=True, check=True, env=environment, timeout=30).stdout.strip()


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, str(EXAMPLES / "mint_token.py"), "shop-customer-42"],
        ["node", str(EXAMPLES / "mint-token.mjs"), "shop-customer-42"],
    ],
    ids=["python", "node"],
)
def test_a_minted_token_is_admitted_for_its_customer_and_only_with_the_stack_s_secret(command):
    token = run(command)
    assert customer_of(token, SECRET) == "shop-customer-42"
    with pytest.raises(TokenRefused):
        customer_of(token, "another-secret")


def test_the_code_docs_client_md_shows_is_the_examples_code():
    page = (ROOT / "docs" / "client.md").read_text()
    for name, language in (("mint_token.py", "python"), ("mint-token.mjs", "js")):
        (shown,) = re.findall(rf"\(examples/{re.escape(name)}\):\n\n```{language}\n(.*?)```", page, re.DOTALL)
        assert shown.strip() in (EXAMPLES / name).read_text(), name
