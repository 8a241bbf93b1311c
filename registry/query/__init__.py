"""The filter language: Mongo-style JSON filters translated to SQLAlchemy expressions.

A filter is a JSON object; its clauses are ANDed, and `{}` matches everything:

    {"metadata.acc": {"$gt": 0.9}, "tag": "vision", "$or": [{"alias": "production"},
                                                           {"alias": "staging"}]}

Clauses
    field: scalar                   shorthand for {"$eq": scalar}
    field: {op: operand, ...}       every operator must hold
    "$and" | "$or" | "$nor": [filter, ...]   a non-empty list of filters

Operators (on a field)
    $eq $ne $gt $gte $lt $lte  scalar operand
    $in $nin                   list of scalars (at most MAX_IN_ITEMS)
    $exists                    true or false: the field is present (JSON paths), or the
                               list field has at least one element (tag, alias)
    $regex                     a string, RE2 syntax, searched anywhere in the value
                               (anchor with ^ and $); "$options": "i" ignores case
    $contains                  strings: the value contains the operand as a substring;
                               JSON arrays (in JSON paths): an element equals the operand
    $not                       an operator object; matches where it does not

Semantics, identical on SQLite and PostgreSQL
- Fields other than JSON paths have one kind (string, number, time; tag and alias
  hold strings) and refuse operands of another kind with an error, as a typo would
  otherwise silently match nothing.
- In JSON paths, values only compare with values of the same kind: numbers with
  numbers (integers and floats alike, booleans are not numbers), strings with strings
  (by code point), booleans and null only through $eq/$ne/$in/$nin. A value of another
  kind, or a missing path, makes a positive operator false.
- Negations are complements: $ne is not $eq, $nin is not $in, $not is not its
  operators, $nor is not $or. So {"metadata.x": {"$ne": 1}} matches a missing x.
- List fields (`tag`, `alias`) match when any element satisfies the operator
  ($eq, $in, $regex, $contains, comparisons); $ne and $nin then mean "no element".
- Time fields take ISO 8601 strings; a time without a zone is UTC.
- `version` is the version index: 3 or "v3".

Fields per target
    registries   name, description, visibility, created_at, updated_at
    collections  name, description, type, tag, created_at, updated_at
    versions     name (the collection's), type, description, tag, alias, digest,
                 created_at, updated_at, version, size, metadata.<dotted.path>
    runs         id, name, job_type, state, tag, created_at, updated_at,
                 config.<dotted.path>, summary.<dotted.path>

Limits: JSON size, nesting depth and condition count (STRATA_MAX_FILTER_*, see
registry/limits.py), $in size, regex length, path depth. Any
violation, unknown field or operator, or wrong operand type raises InvalidInput with a
message naming the problem.
"""
