"""`make tracing-eval`: family-tracing accuracy, cost and leakage on a fixed, seeded set.

The set is built offline from registry packages (never from the internet at run time):
`arabic-name-romanizer`'s Wikidata-derived names database (Arabic names and their attested Latin
spellings, country-tagged), `asosoft` (Sorani Kurdish script from Kurdish Latin), `faker`'s
Arabic-script names. See `docs/tracing.md` for the method and the figures.
"""
