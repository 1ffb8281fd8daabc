"""One sync pass: gather what is needed, build the plan, and apply it in the exactly-once order."""
