"""The words of the name-tagging grammar (tagging.py): no torch, so that the window can tell
which word of a probe sentence is the ambiguous one (sentence_measures.ambiguous_word)
without importing the task (torch: 0.75 s of the GUI thread)."""

# A word that is a first name or, before one of its nouns, part of a thing.
AMBIGUOUS = {
    "teddy": ("bears", "toys"),
    "rose": ("bushes", "petals", "gardens"),
    "jack": ("rabbits", "knives"),
    "bill": ("payments", "collectors"),
    "grace": ("periods", "notes"),
    "april": ("showers", "fools"),
    "holly": ("bushes", "leaves"),
    "ivy": ("leaves", "walls"),
    "daisy": ("chains", "petals"),
    "amber": ("lights", "beads"),
    "ruby": ("rings", "slippers"),
    "sandy": ("beaches", "shores"),
}
SURNAMES = (
    "roosevelt", "smith", "jones", "brown", "taylor", "wilson", "evans", "walker", "hall",
    "clarke", "turner", "parker",
)  # fmt: skip
FIRST_NAMES = ("john", "mary", "peter", "susan", "david", "emma")  # always names
THINGS = ("rabbits", "letters", "apples", "chairs", "boats", "lamps")  # always things
PREFIXES = ("", "yesterday ,", "in the story", "we heard that", "last week", "i think", "oddly ,")
PERSON_PREDICATES = (
    "was a president", "spoke at the school", "wrote a letter", "likes tea", "came to visit",
    "won the race",
)  # fmt: skip
THING_PREDICATES = (
    "were in the shop", "grow near the house", "looked old", "were on sale", "came in a box",
    "filled the room",
)  # fmt: skip
