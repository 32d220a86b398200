"""First boot: the dialog wizard and the apply engine (ordered, journaled, idempotent steps)."""
