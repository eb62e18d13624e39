"""The JavaScript verifier printed in docs/webhooks.md accepts what the shop signs and refuses tampering."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from plugins.webhooks.delivery import sign_headers
from plugins.webhooks.service import new_secret

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def js_verifier() -> str:
    blocks = re.findall(r"```js\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if "export function verify" in b)


def test_the_documented_javascript_verifier_agrees_with_the_shops_signatures(tmp_path: Path) -> None:
    secret = new_secret()
    body = json.dumps({"type": "order.paid", "timestamp": "2026-12-01T10:15:02Z", "data": {"id": "o-1"}})
    headers = sign_headers(secret, "msg_0123456789abcdef0123456789abcdef", body.encode())
    (tmp_path / "verify.mjs").write_text(js_verifier(), encoding="utf-8")
    (tmp_path / "run.mjs").write_text(
        'import { verify } from "./verify.mjs";\n'
        'const [secret, headers, body] = JSON.parse(process.argv[2]);\n'
        'try { console.log(JSON.stringify(verify(secret, headers, body))); }\n'
        'catch (e) { console.log("REFUSED " + e.message); }\n',
        encoding="utf-8")

    def run(secret: str, headers: dict[str, str], body: str) -> str:
        out = subprocess.run(["node", str(tmp_path / "run.mjs"), json.dumps([secret, headers, body])],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert json.loads(run(secret, headers, body))["data"] == {"id": "o-1"}
    assert run(secret, headers, body.replace("o-1", "o-2")) == "REFUSED bad signature"
    assert run(new_secret(), headers, body) == "REFUSED bad signature"
    assert run(secret, {**headers, "webhook-timestamp": "1000"}, body) == "REFUSED timestamp too far off"
