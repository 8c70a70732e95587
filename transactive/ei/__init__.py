"""Energy Interoperation payloads: the Common Transactive Services (:mod:`transactive.ei.cts`) and the
OpenADR 2.0b profile (:mod:`transactive.ei.oadr`). Importing this package registers every message
with the codecs."""

from transactive.ei import cts, ext, oadr

__all__ = ["cts", "ext", "oadr"]
