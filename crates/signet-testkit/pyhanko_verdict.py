"""Usage: pyhanko_verdict.py ROOT.pem [--password PW] FILE...

Prints one JSON line per file: {"file": ..., "signatures": [{"field", "verdict"}], "error"}.
verdict: "intact" (digest and signature sound, no disallowed change), "modified" (sound, but
later revisions change the document beyond what the signature allows), "invalid" (digest or
signature unsound). One process for many files: pyHanko's import cost is paid once.
"""
import json
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import ModificationLevel
from pyhanko_certvalidator import ValidationContext


def main():
    args = sys.argv[1:]
    root = load_cert_from_pemder(args.pop(0))
    password = None
    if args and args[0] == "--password":
        args.pop(0)
        password = args.pop(0)
    for path in args:
        out = {"file": path, "signatures": []}
        try:
            with open(path, "rb") as f:
                r = PdfFileReader(f, strict=False)
                if r.encrypted:
                    r.decrypt(password or "")
                for sig in r.embedded_regular_signatures:
                    vc = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
                    try:
                        st = validate_pdf_signature(sig, vc)
                    except Exception as e:  # a signature pyHanko cannot process at all
                        out["signatures"].append({"field": sig.field_name, "verdict": "invalid", "why": repr(e)})
                        continue
                    if not (st.intact and st.valid):
                        verdict = "invalid"
                    elif st.docmdp_ok is False or st.modification_level == ModificationLevel.OTHER:
                        verdict = "modified"
                    else:
                        verdict = "intact"
                    out["signatures"].append({"field": sig.field_name, "verdict": verdict,
                                              "modification": str(st.modification_level)})
        except Exception as e:
            out["error"] = repr(e)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
