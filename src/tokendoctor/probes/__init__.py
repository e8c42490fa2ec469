"""Network probes shared between checks (each memoised per run through ``Context.once``)."""
