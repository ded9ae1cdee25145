"""Usage: pyhanko_timestamps.py ROOT.pem FILE

Validates every document timestamp (/Type /DocTimeStamp) of FILE with pyHanko, trusting
ROOT.pem only, no fetching: prints one line per timestamp, "FIELD:VALID" when it is intact,
its token valid, its TSA trusted and every later revision an LTA update (DSS, another
document timestamp), else "FIELD:INVALID <why>". Exit status 0 only if there is at least one
timestamp and each is VALID.
"""
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko.sign.validation.status import ModificationLevel
from pyhanko_certvalidator import ValidationContext


def main():
    root = load_cert_from_pemder(sys.argv[1])
    ok = True
    seen = 0
    with open(sys.argv[2], "rb") as f:
        r = PdfFileReader(f, strict=False)
        for s in r.embedded_signatures:
            if s.sig_object.get("/Type") != "/DocTimeStamp":
                continue
            seen += 1
            vc = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
            st = validate_pdf_timestamp(s, validation_context=vc)
            level = st.modification_level
            why = []
            if not st.intact:
                why.append("not intact")
            if not st.valid:
                why.append("token invalid")
            if not st.trusted:
                why.append("TSA not trusted")
            if level is None or level > ModificationLevel.LTA_UPDATES:
                why.append(f"later changes: {level}")
            if why:
                ok = False
                print(f"{s.field_name}:INVALID {', '.join(why)}")
            else:
                print(f"{s.field_name}:VALID at {st.timestamp.isoformat()} by {st.signing_cert.subject.human_friendly}")
    if seen == 0:
        print("no document timestamp")
    sys.exit(0 if ok and seen else 1)


if __name__ == "__main__":
    main()
