"""Personal links and notices: planned as rows, claimed, sent, never lost."""
