"""Pure core: imports only the standard library, sqlglot and ``purpose_lineage.errors``."""
