"""The event framework: definitions (event → conditions → action), their cache,
conditions, handler modules, tags and the dispatcher the request pipeline calls."""
