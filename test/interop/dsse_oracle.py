"""DSSE interop oracle: securesystemslib (the Python reference of DSSE)
verifies omnitide's envelopes and signs envelopes for omnitide to verify.

stdin: {"op": "verify", "envelopes": [...], "keyid": str, "public": hex}
     | {"op": "sign", "payloads": [{"payloadType": str, "payload": b64}]}
stdout: JSON result.
"""
import base64
import json
import sys

from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey


def main() -> None:
    req = json.load(sys.stdin)
    if req["op"] == "verify":
        key = SSlibKey(req["keyid"], "ed25519", "ed25519", {"public": req["public"]})
        out = []
        for e in req["envelopes"]:
            try:
                Envelope.from_dict(e).verify([key], 1)
                out.append({"ok": True})
            except Exception as err:  # the verdict, with the reason
                out.append({"ok": False, "error": f"{type(err).__name__}: {err}"})
        print(json.dumps(out))
    elif req["op"] == "sign":
        signer = CryptoSigner.generate_ed25519()
        envs = []
        for p in req["payloads"]:
            env = Envelope(payload=base64.b64decode(p["payload"]), payload_type=p["payloadType"], signatures={})
            env.sign(signer)
            envs.append(env.to_dict())
        pub = signer.public_key.keyval["public"]
        print(json.dumps({"public": pub, "keyid": signer.public_key.keyid, "envelopes": envs}))
    else:
        sys.exit(f"unknown op {req['op']}")


main()
