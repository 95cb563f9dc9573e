"""Synthetic inputs (no real people) for the demo, the tests and the benchmarks: remittances
(remits), claims and authorizations (claims), denial letters and fax batches (letters),
external-review decisions (precedent) and hostile files (hostile). Not part of the pipeline:
nothing in intake, classify, law, compose or render imports them."""
